using System.Diagnostics;
using Unsup.Distributed;
using Unsup.Moco.Augment;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Training;

public sealed record MocoPretrainOptions
{
    public required string RunDir { get; init; }
    /// <summary>Ignored on resume: the run's own config.json is used, so a resumed run is the same run.</summary>
    public required MocoConfig Config { get; init; }
    public bool Resume { get; init; }
    public Device Device { get; init; } = CPU;
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
    /// <summary>At most this many training images form the kNN bank (null = all).</summary>
    public int? KnnBank { get; init; }
    /// <summary>Stop after this many epochs in this invocation (the run stays resumable); null = run to the end.</summary>
    public int? StopAfterEpochs { get; init; }
    /// <summary>Stop at the first step after this wall time (checkpoint, kNN, summary; the run stays resumable).</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Checkpoint every this many steps (null = at every epoch end); fault tests checkpoint every step.</summary>
    public long? CheckpointEvery { get; init; }
    public TextWriter? Log { get; init; }
    /// <summary>Ranks training together (default <see cref="Communicator.World"/>); rank 0 alone writes the run folder and runs the kNN monitor.</summary>
    public Communicator? Comm { get; init; }
}

public sealed record MocoPretrainResult(string RunDir, double Epochs, double? KnnInit, double? KnnLast, double LastLoss, double ImagesPerSecond);

/// <summary>
/// `unsup moco pretrain`: epochs of <see cref="MocoTrainer"/> inside a run folder. Checkpoints at every epoch end hold
/// both encoders, the queue and its pointer (module buffers), SGD state, step and RNG, so --resume continues the same
/// run; metrics.jsonl gets loss/top-1 per step and kNN top-1 per monitored epoch; plots are redrawn every epoch.
/// </summary>
public static class MocoPretraining
{
    /// <summary>Activations up to this size stay in the native heap across training steps and feature batches (<see cref="NativeAllocator.ReuseBlocksUpTo"/>).</summary>
    public const int ReusedBlockBytes = 16 << 20;

    public static MocoPretrainResult Run(MocoData data, MocoPretrainOptions o)
    {
        var log = o.Log ?? Console.Out;
        var config = o.Resume && File.Exists(Path.Combine(o.RunDir, RunFolder.ConfigFile))
            ? RunFolder.Open(o.RunDir).ReadConfig<MocoConfig>()
            : o.Config with { InChannels = (int)data.Channels };
        var normalize = Normalize.ForChannels(data.Channels);
        long n = data.TrainImages.shape[0];
        using var trainer = new MocoTrainer(config, o.Device, normalize, n, o.Comm);
        trainer.CheckImages(data.TrainImages);
        int stepsPerEpoch = trainer.StepsPerEpoch;
        // The epoch's image order is part of the state, so a checkpoint taken mid-epoch (time limit) resumes exactly.
        using var order = zeros(n, dtype: ScalarType.Int64);
        var state = new TrainingState().AddModule("moco", trainer.Model).AddOptimizer("sgd", trainer.Optimizer).AddTensor("epoch_order", order);
        using var session = TrainingSession.Start(new TrainingSessionOptions
        {
            RunDir = o.RunDir, Config = config, Resume = o.Resume, Label = "moco",
            TotalSteps = trainer.TotalSteps, CheckpointEvery = o.CheckpointEvery ?? stepsPerEpoch,
            Progress = o.Progress, Log = o.Log, Comm = trainer.Comm, KeepCheckpoints = config.KeepCheckpoints == 0 ? int.MaxValue : config.KeepCheckpoints,
        }, state);
        var run = session.Run;
        bool monitor = data.HasLabels && config.KnnEvery > 0 && session.Writes;

        double? knnInit = null, knnLast = null;
        // "knn" is the monitor's number; "knn_head" or "knn_backbone" repeats it under the name of the features it read.
        string knnKey = "knn_" + config.KnnFeatures, knnWhat = $"kNN top-1 ({config.KnnFeatures} features)";
        if (monitor && state.Step == 0)
        {
            knnInit = trainer.Knn(data, o.KnnBank).Top1;
            run.Metrics.Append(0, new Dictionary<string, double> { ["knn"] = knnInit.Value, [knnKey] = knnInit.Value }, 0);
            session.Progress.Message($"{knnWhat} at random initialisation: {knnInit:P2}");
        }
        long rssStart = MemoryReport.RssBytes();
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN, rate = 0;
        int epochsThisCall = 0;
        bool timeUp = false;
        // every step allocates the same activations (3 MB at width 8 on 28-pixel batches of 128): reuse their heap blocks
        using var reuse = NativeAllocator.ReuseBlocksUpTo(ReusedBlockBytes);
        while (state.Step < trainer.TotalSteps && !timeUp && (o.StopAfterEpochs is not int stop || epochsThisCall < stop))
        {
            int epoch = trainer.EpochOf(state.Step);
            state.Epoch = epoch;                       // recorded in metrics and checkpoints; derived from the step only
            long first = state.Step, end = (long)(epoch + 1) * stepsPerEpoch;
            if (first % stepsPerEpoch == 0)
                using (var fresh = trainer.NewEpochOrder()) order.copy_(fresh);
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0, top1Sum = 0;
            while (state.Step < end)
            {
                double commBefore = trainer.Comm.CommSeconds;
                MocoStepResult r;
                using (GcPause.Begin()) r = trainer.Step(data.TrainImages, order, state.Step, session.Guard);
                lossSum += r.Loss; top1Sum += r.Top1;
                double ips = (state.Step - first + 1) * (double)config.BatchSize / epochClock.Elapsed.TotalSeconds;
                if (trainer.Comm.IsDistributed)   // rank 0's time inside collectives this step (waiting for slower ranks included)
                    session.CompleteStep(("loss", r.Loss), ("top1", r.Top1), ("lr", r.Lr), ("img_per_s", ips), ("comm_s", trainer.Comm.CommSeconds - commBefore));
                else
                    session.CompleteStep(("loss", r.Loss), ("top1", r.Top1), ("lr", r.Lr), ("img_per_s", ips));
                rate = ips;
                if (o.TimeLimit is TimeSpan limit && RootSays(trainer.Comm, clock.Elapsed >= limit) && state.Step < end)
                {
                    session.SaveCheckpoint();
                    session.Progress.Message($"time limit {limit.TotalMinutes:F0} min reached in epoch {epoch + 1} (step {state.Step % stepsPerEpoch}/{stepsPerEpoch}); checkpoint saved, --resume continues");
                    timeUp = true;
                    break;
                }
            }
            long done = state.Step - first;
            lastLoss = lossSum / Math.Max(1, done);
            bool epochComplete = state.Step == end;
            if (epochComplete) epochsThisCall++;
            var epochMetrics = new Dictionary<string, double> { ["epoch_loss"] = lastLoss, ["epoch_top1"] = top1Sum / Math.Max(1, done), ["rss_mb"] = MemoryReport.RssBytes() / 1048576.0 };
            string line = $"epoch {epoch + 1}/{config.Epochs}{(epochComplete ? "" : $" (stopped at step {state.Step % stepsPerEpoch}/{stepsPerEpoch})")}: loss {lastLoss:F4}, " +
                          $"contrastive top-1 {top1Sum / Math.Max(1, done):P1}, {rate:F0} img/s";
            if (monitor && (timeUp || (epochComplete && ((epoch + 1) % config.KnnEvery == 0 || epoch + 1 == config.Epochs))))
            {
                knnLast = trainer.Knn(data, o.KnnBank).Top1;
                epochMetrics["knn"] = knnLast.Value;
                epochMetrics[knnKey] = knnLast.Value;
                line += $", {knnWhat} {knnLast:P2}";
            }
            if (session.Writes)
            {
                run.Metrics.Append(state.Step, epochMetrics, epochComplete ? epoch + 1 : epoch);
                session.Progress.Message(line);
                WritePlots(run, monitor ? config.KnnFeatures : null);
            }
        }

        var summary = new
        {
            epochs = (double)state.Step / stepsPerEpoch, minutes = clock.Elapsed.TotalMinutes, totalEpochs = config.Epochs, steps = state.Step, lastEpochLoss = lastLoss,
            knnInit = knnInit ?? (session.Writes ? FirstKnn(run) : null), knnLast, knnFeatures = config.KnnFeatures, imagesPerSecond = rate,
            rssStartMb = rssStart / 1048576.0, rssEndMb = MemoryReport.RssBytes() / 1048576.0,
            checkpoint = session.LastCheckpoint,
            processes = trainer.Comm.Size, allreduceFloatsPerStep = trainer.GradientElements,
        };
        session.Finish(summary, ["loss", "top1"]);
        if (session.Writes) WritePlots(run, monitor ? config.KnnFeatures : null);
        return new MocoPretrainResult(run.Root, summary.epochs, summary.knnInit, knnLast, lastLoss, rate);
    }

    /// <summary>Rank 0's answer on every rank, so all ranks stop at the same step (their clocks differ).</summary>
    static bool RootSays(Communicator comm, bool answer)
    {
        int[] flag = [answer ? 1 : 0];
        comm.Broadcast(flag);
        return flag[0] != 0;
    }

    static void WritePlots(RunFolder run, string? knnFeatures)
    {
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("loss"), ["loss"], "MoCo InfoNCE loss");
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("contrastive_top1"), ["top1"], "contrastive top-1 (positive ranked first)");
        if (knnFeatures != null) LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("knn"), ["knn"], $"kNN top-1 (test split, {knnFeatures} features)", byEpoch: true);
    }

    static double? FirstKnn(RunFolder run) =>
        run.Metrics.ReadAll().Where(m => m.Values.ContainsKey("knn")).Select(m => (double?)m.Values["knn"]).FirstOrDefault();
}
