using System.Globalization;
using Unsup.Registration.Losses;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Synthesis;
using Unsup.Registration.Training;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Bench.Registration;

/// <summary>
/// `label-fit`: can one anatomy pair be aligned by an objective — the label term alone, with no regulariser, or the
/// official unsupervised loss on one fixed synthesis of each subject — optimised either by Adam on the two velocity
/// fields directly (the loss landscape) or through a fresh SYMNet (the network and its rate)? Separates "the objective
/// does not lead to the anatomy" from "the network cannot take it" (bench/results/registration/from-scratch.md).
/// </summary>
public static class LabelFit
{
    const string Usage = """
        usage: unsup-bench-registration label-fit FIXED_LABELS MOVING_LABELS --mode velocities|network [options]
          --loss L        label (default: two 1 - soft Dice, no regulariser) or official (SYMNet's NCC, folding,
                          smoothness and magnitude terms on one fixed synthesis of each subject, same contrast)
          --blur S        with --loss official: NCC on images blurred by sigma S voxels (symnet train --similarity-blur)
          --lr R          Adam rate (velocities: voxels per step, default 0.05; network: default 1e-4)
          --steps N       default 100      --every N  print every N steps (default 10)
          --downsample F  default 3 (brain-cropped as symnet train --crop brain)
          --priors DIR    SynthSeg priors for the network's input images (default built-in T1)
          --init W        network mode: start from these weights (.pth, checkpoint or run folder; --steps 0 evaluates them)
          --seed S        network init and synthesis seed (default 0)   --threads N (default 1)
        """;

    /// <param name="output">where the table goes (default stdout)</param>
    public static int Run(string[] args, TextWriter? output = null)
    {
        var o = output ?? Console.Out;
        if (args.Length < 2) { Console.Error.WriteLine(Usage); return 2; }
        string fixedPath = args[0], movingPath = args[1], mode = "", lossName = "label"; double blur = 0;
        double? lr = null; int steps = 100, every = 10, downsample = 3, threads = 1; long seed = 0; string? priors = null, init = null;
        for (int i = 2; i < args.Length; i += 2)
        {
            string v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--mode": mode = v; break;
                case "--loss": lossName = v; break;
                case "--blur": blur = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--lr": lr = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(v); break;
                case "--every": every = int.Parse(v); break;
                case "--downsample": downsample = int.Parse(v); break;
                case "--priors": priors = v; break;
                case "--init": init = v; break;
                case "--seed": seed = long.Parse(v); break;
                case "--threads": threads = int.Parse(v); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}\n{Usage}"); return 2;
            }
        }
        if (mode is not ("velocities" or "network")) { Console.Error.WriteLine($"--mode velocities|network\n{Usage}"); return 2; }
        if (lossName is not ("label" or "official")) { Console.Error.WriteLine($"--loss label|official\n{Usage}"); return 2; }
        Unsup.TorchRuntime.SetThreads(threads);
        manual_seed(seed);

        using var maps = LabelMapPreparation.Load([fixedPath, movingPath], new LabelMapGeometry { Downsample = downsample });
        var labels = SizePadding.Pad(maps.Labels.unsqueeze(1), SymNet.SizeMultiple);
        var ids = EvaluationLabels.For([maps.Labels[0], maps.Labels[1]]);
        var lx = SoftDice.OneHot(labels.narrow(0, 0, 1), ids);
        var ly = SoftDice.OneHot(labels.narrow(0, 1, 1), ids);
        string objective = lossName == "label" ? "label term only (two 1 - soft Dice), no regulariser"
            : $"official loss (NCC window 7{(blur > 0 ? FormattableString.Invariant($" on images blurred by sigma {blur}") : "")}, λ_J 100, λ_s 3, λ_m 0.1) on one synthesis of each subject";
        o.WriteLine($"# label-fit --mode {mode}: grid {string.Join("x", labels.shape.Skip(2))}, {ids.Count} labels, {objective}");
        o.WriteLine($"| step | {lossName} loss | Dice (nearest) | mean abs v (voxels) | dead decoder channels | outline Dice |");
        o.WriteLine("|---|---|---|---|---|---|");

        // images only where something looks at them: the network's input, or the official loss's NCC
        using var data = mode == "network" || lossName == "official"
            ? SymNetTrainingData.FromLabelMaps(maps, Program.Synthesizer(priors), 0, seed, onTheFly: false, sharedContrast: true) : null;
        var x = data?.Images.narrow(0, 0, 1);
        var y = data?.Images.narrow(0, 1, 1);
        using var official = new SymNetLoss(3) { SimilarityBlur = blur };
        // (fixed, moving) in this step's order → the loss of the pass f
        Func<Tensor, Tensor, SymNetFields, Tensor> objectiveOf(bool swap) => lossName == "label"
            ? (_, _, f) => SymNetLoss.LabelOverlap(swap ? ly : lx, swap ? lx : ly, f)
            : (a, b, f) => official.Compute(a, b, f).Total;

        if (mode == "velocities")
        {
            var spatial = labels.shape.Skip(2).ToArray();
            using var vXY = new TorchSharp.Modules.Parameter(zeros([1, spatial.Length, .. spatial]));
            using var vYX = new TorchSharp.Modules.Parameter(zeros([1, spatial.Length, .. spatial]));
            using var adam = optim.Adam([vXY, vYX], lr: lr ?? PairRefinement.DefaultLearningRate);
            for (int step = 0; step <= steps; step++)
                Step(adam, () => SymNetPipeline.FromVelocities(vXY, vYX), f => objectiveOf(false)(x!, y!, f), lx, ly, step, every, steps, null, o);
        }
        else
        {
            using var model = init is null ? new SymNet(7, (int)maps.Labels.dim() - 1) : SymNetWeights.Create(init);
            using var adam = optim.Adam(model.parameters(), lr: lr ?? 1e-4);
            for (int step = 0; step <= steps; step++)
            {
                // both orders in turn, as training draws (i, j) and (j, i); the fixed-to-moving order is the one printed
                bool swap = step % 2 == 1;
                var (a, b) = swap ? (y!, x!) : (x!, y!);
                Step(adam, () => SymNetPipeline.Forward(model, a, b), f => objectiveOf(swap)(a, b, f), swap ? ly : lx, swap ? lx : ly, step, swap ? 0 : every, steps, model, o);
            }
        }
        return 0;
    }

    /// <param name="lx">one-hot labels of this step's fixed image, <paramref name="ly"/> of its moving one (for the printed Dice)</param>
    static void Step(optim.Optimizer adam, Func<SymNetFields> pass, Func<SymNetFields, Tensor> objective, Tensor lx, Tensor ly, int step, int every, int steps, SymNet? model, TextWriter o)
    {
        using var scope = NewDisposeScope();
        adam.zero_grad();
        using var f = pass();
        var loss = objective(f);
        if (every > 0 && (step % every == 0 || step == steps))
        {
            double dice, outline;
            using (no_grad())
            {
                var moved = SpatialTransformer.Warp(lx, f.FullXY, Interpolation.Nearest);
                dice = 1 - SoftDice.Loss(ly, moved).item<float>();
                // the union of the structures: does a warp align the brain's outline without its inside?
                outline = 1 - SoftDice.Loss(ly.sum(1, keepdim: true), moved.sum(1, keepdim: true)).item<float>();
            }
            string dead = model is null ? "–" : $"{model.LastDeadChannels} of {model.DecoderChannels}";
            o.WriteLine(FormattableString.Invariant($"| {step} | {loss.item<float>():F4} | {dice:F4} | {f.VelocityXY.abs().mean().item<float>():F4} | {dead} | {outline:F4} |"));
        }
        if (step == steps) return;
        loss.backward();
        adam.step();
    }
}
