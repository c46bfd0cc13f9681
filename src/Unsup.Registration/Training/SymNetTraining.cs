using System.Diagnostics;
using Unsup.Distributed;
using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Training;

public sealed record SymNetTrainOptions
{
    public required string RunDir { get; init; }
    /// <summary>Ignored on resume when the run folder has a config (read it with <see cref="SymNetTraining.ReadConfig"/>).</summary>
    public required SymNetTrainConfig Config { get; init; }
    public bool Resume { get; init; }
    public Device Device { get; init; } = CPU;
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
    public TextWriter? Log { get; init; }
    /// <summary>Stop after this many steps in this invocation (a checkpoint is written; --resume continues); null = to the end.</summary>
    public long? StopAfterSteps { get; init; }
    /// <summary>Ranks training together (default <see cref="Communicator.World"/>): N pairs per step, one per rank; rank 0 alone writes and validates.</summary>
    public Communicator? Comm { get; init; }
}

public sealed record SymNetTrainResult(string RunDir, long Steps, double LastLoss,
    SymNetValidation? InitialValidation, SymNetValidation? LastValidation, string? WeightsPath, string? Checkpoint);

/// <summary>
/// `unsup symnet train`: SYMNet steps on random ordered pairs of the training subjects inside a run folder.
/// Checkpoints hold the network, Adam's moments, the step and the pair sampler's state, so --resume
/// continues exactly as an uninterrupted run; metrics.jsonl gets every loss term per step and validation
/// Dice / folding at step 0, every ValEvery steps and at the end; plots are redrawn after each validation;
/// the final weights are written as model.pth (PyTorch state_dict, loadable by `symnet register --model`).
/// </summary>
public static class SymNetTraining
{
    public static SymNetTrainConfig ReadConfig(string runDir) => RunFolder.Open(runDir).ReadConfig<SymNetTrainConfig>();

    public static SymNetTrainResult Run(SymNetTrainingData data, SymNetTrainOptions o)
    {
        var config = o.Config;
        config.Validate();
        if (config.LabelWeight > 0 && data.Labels is null)
            throw new UnsupException($"--label-weight {config.LabelWeight}: the label term needs label maps (--label-maps, or --labels with --images)");
        using var trainer = new SymNetTrainer(config, data.Dims, o.Device, o.Comm);
        var comm = trainer.Comm;
        var sampler = new SeededRandom(config.Seed);
        var state = new TrainingState()
            .AddModule(SymNetWeights.CheckpointModule, trainer.Model)
            .AddOptimizer("adam", trainer.Optimizer)
            .AddRandom("pairs", sampler);
        using var session = TrainingSession.Start(new TrainingSessionOptions
        {
            RunDir = o.RunDir, Config = config, Resume = o.Resume, Label = "symnet",
            TotalSteps = config.Steps, CheckpointEvery = config.CheckpointEvery,
            Progress = o.Progress, Log = o.Log, Comm = comm,
        }, state);
        var run = session.Run;
        if (state.Step == 0) trainer.LoadInit();
        bool validate = data.Labels is not null && data.ValidationCount >= 2 && session.Writes;

        SymNetValidation? initial = null, last = null;
        if (validate && state.Step == 0)
        {
            initial = last = trainer.Validate(data);
            AppendValidation(run, 0, initial);
            session.Progress.Message($"step 0: {Describe(initial)}");
            WritePlots(run, validate);
        }

        int nTrain = data.TrainCount;
        double lastLoss = double.NaN;
        long stopAt = o.StopAfterSteps is long n ? Math.Min(config.Steps, state.Step + n) : config.Steps;
        var sw = Stopwatch.StartNew();
        long startStep = state.Step;
        string? lastCkpt = session.LastCheckpoint;
        int deadSteps = 0;
        while (state.Step < stopAt)
        {
            long step = state.Step + 1;
            // N ranks: the step's global batch is the sampler's next N pairs, pair r on rank r (every rank draws all N to stay in step)
            int i = 0, j = 0;
            for (int rank = 0; rank < comm.Size; rank++)
            {
                int a = sampler.NextInt(nTrain), c = sampler.NextInt(nTrain - 1);
                if (c >= a) c++;
                if (rank == comm.Rank) (i, j) = (a, c);
            }
            SymNetStepResult r;
            using (GcPause.Begin())
            using (var scope = NewDisposeScope())
            {
                // fixed i, moving j: the symmetric loss treats both directions alike anyway
                long seed = PairSeed(config.Seed, (step - 1) * comm.Size + comm.Rank + 1);
                LrSchedule.Constant().Apply(trainer.Optimizer, state.Step);   // the official SYMNet trains Adam at one rate; the shared schedule keeps that
                // one contrast for both images of a pair (local NCC compares like with like), or each its own
                long? contrast = config.PairContrast == SymNetTrainConfig.SameContrast ? ~seed : null;
                if (config.LabelWeight > 0)
                {
                    // label maps are present: checked before training starts
                    var (x, lx) = data.TrainingSample(i, seed, contrast);
                    var (y, ly) = data.TrainingSample(j, seed + 1, contrast);
                    r = trainer.Step(x, y, session.Guard, step, SoftDice.OneHot(lx!, data.EvalLabels), SoftDice.OneHot(ly!, data.EvalLabels));
                }
                else r = trainer.Step(data.TrainingImage(i, seed, contrast), data.TrainingImage(j, seed + 1, contrast), session.Guard, step);
            }
            lastLoss = r.Total;
            deadSteps = CheckAlive(r, trainer.Model, step, deadSteps, session.Progress);
            if (validate && ((config.ValEvery > 0 && step % config.ValEvery == 0) || step == config.Steps))
            {
                last = trainer.Validate(data);
                AppendValidation(run, step, last);
                session.Progress.Message($"step {step}: {Describe(last)}");
            }
            var metrics = r.AsMetrics().Append(("s_per_step", sw.Elapsed.TotalSeconds / (step - startStep))).ToArray();
            lastCkpt = session.CompleteStep(metrics) ?? lastCkpt;
            if (validate && config.ValEvery > 0 && step % config.ValEvery == 0) WritePlots(run, validate);
        }
        if (state.Step < config.Steps && session.Writes && session.LastCheckpoint != run.Checkpoints.PathFor(state.Step))
            lastCkpt = session.SaveCheckpoint();

        string? weights = null;
        if (state.Step == config.Steps && session.Writes)
        {
            weights = Path.Combine(run.Root, SymNetWeights.RunWeightsFile);
            SymNetWeights.Save(trainer.Model, weights);
        }
        var records = run.Metrics.ReadAll();
        var firstVal = initial ?? FromRecords(records, first: true, data);
        last ??= FromRecords(records, first: false, data);
        if (double.IsNaN(lastLoss)) lastLoss = records.LastOrDefault(r => r.Values.ContainsKey("loss"))?.Get("loss") ?? double.NaN;
        var summary = new
        {
            steps = state.Step, totalSteps = config.Steps, lastLoss,
            secondsPerStep = state.Step > startStep ? sw.Elapsed.TotalSeconds / (state.Step - startStep) : double.NaN,
            grid = data.Spatial, paddedGrid = data.Images.shape.Skip(2).ToArray(), trainSubjects = nTrain, validationSubjects = data.ValidationCount,
            diceBefore = last?.MeanDiceBefore ?? firstVal?.MeanDiceBefore,
            diceInitial = firstVal?.MeanDice, diceLast = last?.MeanDice, diceLastStd = last?.StdDice,
            foldingPercentInitial = firstVal?.PercentFolding, foldingPercentLast = last?.PercentFolding,
            validationPairs = last?.Pairs, evalLabels = data.EvalLabels,
            weights, checkpoint = session.LastCheckpoint, memory = MemoryReport.Describe(),
        };
        session.Finish(summary, ["loss"]);
        if (session.Writes) WritePlots(run, validate);
        return new SymNetTrainResult(run.Root, state.Step, lastLoss, firstVal, last, weights, session.LastCheckpoint);
    }

    /// <summary>Steps in a row with every decoder channel dead before training stops: one pair can leave a channel at
    /// zero that another revives, a run of them cannot all.</summary>
    public const int DeadNetworkPatience = 20;

    /// <summary>Counts steps in a row whose network was dead (<see cref="SymNet.LastDeadChannels"/>): warns at the first, stops the run at <see cref="DeadNetworkPatience"/>.</summary>
    static int CheckAlive(SymNetStepResult r, SymNet model, long step, int deadSteps, ProgressReporter progress)
    {
        if (r.DeadChannels < model.DecoderChannels) return 0;
        if (deadSteps == 0)
            progress.Message($"step {step}: warning: all {model.DecoderChannels} channels feeding the velocity heads are zero everywhere (dead ReLUs): the network outputs no deformation");
        if (deadSteps + 1 < DeadNetworkPatience) return deadSteps + 1;
        throw new UnsupException($"training stopped at step {step}: for {DeadNetworkPatience} steps in a row the network has output no deformation, since all " +
            $"{model.DecoderChannels} channels feeding its velocity heads are zero at every voxel (dead ReLUs). No gradient reaches a dead network, so it " +
            "cannot recover: start again with a lower --lr (the official rate is 1e-4; from scratch, 1e-3 did this within tens of steps)");
    }

    /// <summary>The synthesis seed of a step's fixed image (the moving one uses the next): a function of the step alone.</summary>
    static long PairSeed(long runSeed, long step) => unchecked(runSeed * 1_000_003 + 2 * step + 1_000_000_000);

    static string Describe(SymNetValidation v) =>
        $"validation Dice {v.MeanDice:F4} ± {v.StdDice:F4} (no registration {v.MeanDiceBefore:F4}), det J ≤ 0 {v.PercentFolding:F3}% over {v.Pairs} pairs";

    static void AppendValidation(RunFolder run, long step, SymNetValidation v) =>
        run.Metrics.Append(step, new Dictionary<string, double>
        {
            ["val_dice"] = v.MeanDice, ["val_dice_std"] = v.StdDice, ["val_dice_before"] = v.MeanDiceBefore, ["val_fold_pct"] = v.PercentFolding,
        });

    /// <summary>The first validation recorded in metrics.jsonl (after a resume the in-memory one is gone).</summary>
    static SymNetValidation? FromRecords(IReadOnlyList<MetricsRecord> records, bool first, SymNetTrainingData data)
    {
        var vals = records.Where(r => r.Values.ContainsKey("val_dice")).ToList();
        if (vals.Count == 0) return null;
        var r = first ? vals[0] : vals[^1];
        return new SymNetValidation(r.Values["val_dice"], r.Get("val_dice_std") ?? double.NaN, r.Get("val_dice_before") ?? double.NaN,
            r.Get("val_fold_pct") ?? double.NaN, data.ValidationCount * (data.ValidationCount - 1), data.EvalLabels);
    }

    static void WritePlots(RunFolder run, bool validate)
    {
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("loss"), ["loss"], "SYMNet training loss");
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("loss_terms"), ["mid_ncc", "full_ncc", "jacobian", "smooth", "magnitude"], "SYMNet loss terms (unweighted)");
        if (!validate) return;
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("val_dice"), ["val_dice", "val_dice_before"], "validation Dice (held-out ordered pairs) vs no registration");
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("val_folding"), ["val_fold_pct"], "validation % voxels with det J <= 0");
    }
}
