using System.CommandLine;
using Unsup.Registration.Model;
using Unsup.Registration.Training;
using Unsup.Training;

namespace Unsup.Cli.Commands;

/// <summary>`unsup symnet train`: SYMNet training or fine-tuning on all ordered pairs of a set of images.</summary>
public static class SymnetTrainCommand
{
    public static Command Create()
    {
        var images = new Option<string?>("--images") { Description = "Training images: a folder of .nii/.nii.gz files (name order) or a text file with one path per line; one grid for all" };
        var labels = new Option<string?>("--labels") { Description = "Label maps in the same order as --images (folder or list), for validation Dice" };
        var labelMaps = new Option<string?>("--label-maps") { Description = "Train without scans: a folder or list of label maps; every step synthesises a fresh pair (SynthSeg model, see `unsup synth`); held-out subjects (--val) get one fixed synthesis each for validation Dice" };
        var deform = new Option<bool>("--deform") { Description = "With --label-maps: also deform each label map randomly (affine + elastic) before every synthesis" };
        var head = new Option<bool>("--head") { Description = "With --label-maps: whole-head images (extra-cerebral labels kept, background drawn like any label), as `unsup synth --head`; default: skull-stripped brains on zero, whose outline dominates local NCC" };
        var pairContrast = new Option<string?>("--pair-contrast") { Description = "With --label-maps: same (default) synthesises both images of a pair, and the held-out subjects, with one contrast, as two scans of one protocol (what local NCC compares); independent draws one per image (SynthMorph's setting, for --label-weight)" };
        pairContrast.AcceptOnlyFromAmong(SymNetTrainConfig.SameContrast, SymNetTrainConfig.IndependentContrast);
        var val = new Option<int>("--val") { Description = "Hold out the last N subjects; their ordered pairs are the validation set (needs --labels)", DefaultValueFactory = _ => 0 };
        var init = new Option<string?>("--init") { Description = "Start from these weights: a PyTorch .pth state_dict (e.g. the official model), an Unsup .ckpt, or a run folder" };
        var outDir = new Option<string?>("--out") { Description = "Run folder (default: runs/symnet-<time>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its last checkpoint (its config.json wins; --steps may extend it)" };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps, one ordered pair each (default 1000)" };
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (official 1e-4)" };
        var startCh = new Option<int?>("--start-channels") { Description = "Network width C (default 7, or that of --init)" };
        var down = new Option<int?>("--downsample") { Description = "Integer factor: images are block-averaged, label maps take one voxel per block (default 1)" };
        var jac = new Option<double?>("--jacobian-weight") { Description = "λ_J, weight of mean ReLU(-det J) (official 100)" };
        var smooth = new Option<double?>("--smooth-weight") { Description = "λ_s, velocity smoothness weight (official 3)" };
        var mag = new Option<double?>("--magnitude-weight") { Description = "λ_m, half-way magnitude balance weight (official 0.1)" };
        var labelWeight = new Option<double?>("--label-weight") { Description = "λ_L, weight of a soft-Dice term: each label map (Dice labels) warped onto the other; 0 (default) = the official unsupervised loss. For training on synthesised pairs, whose random contrasts make NCC a weak guide" };
        var simWeight = new Option<double?>("--similarity-weight") { Description = "Weight of the NCC terms (default 1 = official). 0 with --label-weight trains on label overlap alone, as SynthMorph does on synthesised pairs with independent contrasts" };
        var simBlur = new Option<double?>("--similarity-blur") { Description = "Gaussian sigma in voxels applied to both images before the NCC terms (default 0 = official). On synthesised images, whose voxels are independent noise draws, NCC rewards the smoothing of sub-voxel warps more than alignment; 1.5 removes that (bench/results/registration/from-scratch.md)" };
        var valEvery = new Option<int?>("--val-every") { Description = "Validate every N steps (default 100; also at step 0 and the end)" };
        var ckEvery = new Option<int?>("--checkpoint-every") { Description = "Checkpoint every N steps (default 100; also at the end)" };
        var nccWindow = new Option<int?>("--ncc-window") { Description = "Local NCC window in voxels (default 7 in 3D as the official one-pass script, 5 in 2D; the official neurite-OASIS training used 5)" };
        var diceLabels = new Option<string?>("--dice-labels") { Description = "Validation Dice labels: auto (default: FreeSurfer evaluation structures when every map is a FreeSurfer segmentation, else every label present in all maps), freesurfer, all, or a FILE of label ids" };
        var stopAfter = new Option<long?>("--stop-after") { Description = "Stop after N steps in this invocation (resume later with --resume)" };

        var cmd = new Command("train",
            "Train SYMNet from scratch or fine-tune it (--init) on all ordered pairs of the images, with the official symmetric loss. " +
            "Images are min-max normalised and zero-padded to a multiple of 16. Writes a run folder: config.json, metrics.jsonl (every loss term " +
            "per step; validation Dice, Dice without registration and % det J <= 0 per validation), checkpoints (model, Adam, pair sampler: " +
            "--resume continues exactly), plots/ and model.pth (PyTorch state_dict) at the end.\n\n" +
            "Examples:\n" +
            "  unsup symnet train --images scans/ --labels segs/ --val 3 --downsample 2 --steps 2000 --out runs/symnet-2mm\n" +
            "  unsup symnet train --images list.txt --init symnet_neurite_oasis_c7_80000.pth --lr 5e-5 --steps 500\n" +
            "  unsup symnet train --label-maps synthseg/ --crop brain --downsample 2 --val 3 --steps 3000 --out runs/symnet-synth\n" +
            "  unsup symnet train --resume runs/symnet-2mm --steps 4000")
        {
            images, labels, labelMaps, SynthCommand.Priors, SynthCommand.Classes, SynthCommand.Crop, deform, head, pairContrast, val, init, outDir, resume, steps, lr, startCh, down, jac, smooth, mag, labelWeight, simWeight, simBlur, nccWindow, diceLabels, valEvery, ckEvery, stopAfter,
        };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            string? resumeDir = r.GetValue(resume);
            Unsup.IO.OutputCheck.ForFolder(resumeDir ?? r.GetValue(outDir) ?? "runs", "run folder");   // before any image is read
            SymNetTrainConfig c;
            if (resumeDir != null)
            {
                if (!File.Exists(Path.Combine(resumeDir, RunFolder.ConfigFile)))
                    throw UnsupException.ForFile(resumeDir, "not a SYMNet run folder (no config.json): nothing to resume");
                c = SymNetTraining.ReadConfig(resumeDir);
                ResumeCheck.WarnIgnored(r, resumeDir, cmd, resume, steps, stopAfter);
                if (r.GetValue(steps) is long s) c = c with { Steps = s };
            }
            else
            {
                string? imageSpec = r.GetValue(images), mapSpec = r.GetValue(labelMaps);
                if (imageSpec != null && mapSpec != null) throw new UnsupException("give either --images (scans) or --label-maps (images synthesised from label maps), not both");
                if (imageSpec == null && mapSpec == null) throw new UnsupException("--images (a folder of NIfTI images or a list file) or --label-maps is required, or --resume RUN");
                if (mapSpec != null && r.GetValue(labels) != null) throw new UnsupException("--labels goes with --images; with --label-maps the maps are the labels");
                var imagePaths = imageSpec != null ? ImageList.Resolve(imageSpec).Select(Path.GetFullPath).ToList() : [];
                var labelPaths = r.GetValue(labels) is string ls ? ImageList.Resolve(ls).Select(Path.GetFullPath).ToList() : null;
                var mapPaths = mapSpec != null ? ImageList.Resolve(mapSpec).Select(Path.GetFullPath).ToList() : null;
                string? cropText = r.GetValue(SynthCommand.Crop);
                if (mapPaths == null && (cropText != null || r.GetValue(deform) || r.GetValue(head) || r.GetValue(SynthCommand.Priors) != null || r.GetValue(pairContrast) != null))
                    throw new UnsupException("--crop, --deform, --head, --pair-contrast and --priors go with --label-maps");
                long[]? cropSize = cropText is null || cropText.Equals("brain", StringComparison.OrdinalIgnoreCase) ? null : SynthCommand.CropSize(cropText);
                string? initPath = r.GetValue(init) is string ip ? Path.GetFullPath(ip) : null;
                int channels = r.GetValue(startCh) ?? (initPath != null ? SymNetWeights.Architecture(initPath).StartChannels : 7);
                var d = new SymNetTrainConfig();
                c = d with
                {
                    Images = imagePaths, Labels = labelPaths, LabelMaps = mapPaths, CropSize = cropSize, Deform = r.GetValue(deform), WholeHead = r.GetValue(head),
                    PairContrast = r.GetValue(pairContrast) ?? SymNetTrainConfig.SameContrast,
                    PriorsDir = mapPaths != null ? SynthCommand.ResolvePriorsDir(r) : null,
                    ClassesFile = r.GetValue(SynthCommand.Classes) is string cf ? Path.GetFullPath(cf) : null, ValidationCount = r.GetValue(val), Init = initPath, StartChannels = channels,
                    Steps = r.GetValue(steps) ?? d.Steps, Lr = r.GetValue(lr) ?? d.Lr, Downsample = r.GetValue(down) ?? d.Downsample,
                    JacobianWeight = r.GetValue(jac) ?? d.JacobianWeight, SmoothnessWeight = r.GetValue(smooth) ?? d.SmoothnessWeight,
                    MagnitudeWeight = r.GetValue(mag) ?? d.MagnitudeWeight, LabelWeight = r.GetValue(labelWeight) ?? d.LabelWeight,
                    SimilarityWeight = r.GetValue(simWeight) ?? d.SimilarityWeight,
                    SimilarityBlur = r.GetValue(simBlur) ?? d.SimilarityBlur, NccWindow = r.GetValue(nccWindow),
                    DiceLabels = r.GetValue(diceLabels) is string dl ? (File.Exists(dl) ? Path.GetFullPath(dl) : dl) : null, ValEvery = r.GetValue(valEvery) ?? d.ValEvery,
                    CheckpointEvery = r.GetValue(ckEvery) ?? d.CheckpointEvery, Seed = r.GetValue(GlobalOptions.Seed),
                };
            }
            c.Validate();
            using var data = SymNetTrainingSource.Load(c);
            if (c.Init is string initFile)
            {
                var (_, dims) = SymNetWeights.Architecture(initFile);
                if (dims != data.Dims) throw UnsupException.ForFile(initFile, $"holds {dims}D weights but the images are {data.Dims}D");
            }
            string run = resumeDir ?? r.GetValue(outDir) ?? RunFolder.DefaultPath($"symnet-{DateTime.Now:yyyyMMdd-HHmmss}");
            Console.WriteLine($"SYMNet training on {data.Count} subjects{(c.LabelMaps != null ? " (images synthesised from label maps every step" + (c.Deform ? ", deformed" : "") + (c.WholeHead ? ", whole head" : "") + $", {c.PairContrast} contrast per pair)" : "")} ({data.TrainCount} train, {data.ValidationCount} held out), " +
                              $"{data.Dims}D grid {string.Join("x", data.Spatial)} (padded {string.Join("x", data.Images.shape.Skip(2))}), C {c.StartChannels}, " +
                              $"lr {c.Lr:G3}, NCC window {c.NccWindow ?? Unsup.Registration.Losses.LocalNcc.DefaultWindow(data.Dims)}, λ_J {c.JacobianWeight}, λ_s {c.SmoothnessWeight}, λ_m {c.MagnitudeWeight}{(c.LabelWeight > 0 ? $", λ_L {c.LabelWeight}" : "")}{(c.SimilarityWeight != 1 ? $", NCC weight {c.SimilarityWeight}" : "")}{(c.SimilarityBlur > 0 ? $", similarity blur {c.SimilarityBlur} voxels" : "")}, {c.Steps} steps" +
                              (c.Init != null ? $", init {c.Init}" : "") + $" -> {Path.GetFullPath(run)}");
            var result = SymNetTraining.Run(data, new SymNetTrainOptions
            {
                RunDir = run, Config = c, Resume = resumeDir != null, Device = device,
                Progress = r.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto,
                StopAfterSteps = r.GetValue(stopAfter),
            });
            var v = result.LastValidation;
            Console.WriteLine($"done: {result.Steps}/{c.Steps} steps, last loss {result.LastLoss:F4}" +
                              (v != null ? $", validation Dice {v.MeanDice:F4} (no registration {v.MeanDiceBefore:F4}, start {result.InitialValidation?.MeanDice:F4}), det J <= 0 {v.PercentFolding:F3}%" : "") +
                              $"; run folder {Path.GetFullPath(result.RunDir)}" + (result.WeightsPath != null ? $", weights {result.WeightsPath}" : ""));
            return 0;
        });
        return cmd;
    }
}
