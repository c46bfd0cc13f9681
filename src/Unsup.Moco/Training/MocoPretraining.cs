using System.Diagnostics;
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
    public TextWriter? Log { get; init; }
}

public sealed record MocoPretrainResult(string RunDir, int Epochs, double? KnnInit, double? KnnLast, double LastLoss, double ImagesPerSecond);

/// <summary>
/// `unsup moco pretrain`: epochs of <see cref="MocoTrainer"/> inside a run folder. Checkpoints at every epoch end hold
/// both encoders, the queue and its pointer (module buffers), SGD state, step and RNG, so --resume continues the same
/// run; metrics.jsonl gets loss/top-1 per step and kNN top-1 per monitored epoch; plots are redrawn every epoch.
/// </summary>
public static class MocoPretraining
{
    public static MocoPretrainResult Run(MocoData data, MocoPretrainOptions o)
    {
        var log = o.Log ?? Console.Out;
        var config = o.Resume && File.Exists(Path.Combine(o.RunDir, RunFolder.ConfigFile))
            ? RunFolder.Open(o.RunDir).ReadConfig<MocoConfig>()
            : o.Config with { InChannels = (int)data.Channels };
        var normalize = Normalize.ForChannels(data.Channels);
        using var trainer = new MocoTrainer(config, o.Device, normalize);

        long n = data.TrainImages.shape[0];
        int stepsPerEpoch = (int)(n / config.BatchSize);
        if (stepsPerEpoch == 0) throw new UnsupException($"--batch-size {config.BatchSize} is larger than the dataset ({n} images)");
        var state = new TrainingState().AddModule("moco", trainer.Model).AddOptimizer("sgd", trainer.Optimizer);
        using var session = TrainingSession.Start(new TrainingSessionOptions
        {
            RunDir = o.RunDir, Config = config, Resume = o.Resume, Label = "moco",
            TotalSteps = (long)config.Epochs * stepsPerEpoch, CheckpointEvery = stepsPerEpoch,
            Progress = o.Progress, Log = o.Log,
        }, state);
        trainer.Epoch = (int)(state.Step / stepsPerEpoch);   // checkpoints fall on epoch ends
        var run = session.Run;
        bool monitor = data.HasLabels && config.KnnEvery > 0;

        double? knnInit = null, knnLast = null;
        if (monitor && state.Step == 0)
        {
            knnInit = trainer.KnnAccuracy(data, o.KnnBank);
            run.Metrics.Append(0, new Dictionary<string, double> { ["knn"] = knnInit.Value }, 0);
            session.Progress.Message($"kNN top-1 at random initialisation: {knnInit:P2}");
        }
        long rssStart = MemoryReport.RssBytes();
        double lastLoss = double.NaN, rate = 0;
        int epochsThisCall = 0;
        while (trainer.Epoch < config.Epochs && (o.StopAfterEpochs is not int stop || epochsThisCall < stop))
        {
            MocoEpochResult r;
            try
            {
                r = trainer.TrainEpoch(data.TrainImages, p =>
                {
                    state.Epoch = p.Epoch;
                    session.CompleteStep(("loss", p.Loss), ("top1", p.Top1), ("lr", p.Lr), ("img_per_s", p.ImagesPerSecond));
                });
            }
            catch (UnsupException e) when (e is not NonFiniteException)
            {
                throw new UnsupException($"{e.Message}. The last good checkpoint is {session.LastCheckpoint ?? "(none yet)"} (resume with --resume {run.Root})", e);
            }
            epochsThisCall++;
            lastLoss = r.Loss; rate = r.ImagesPerSecond;
            var epochMetrics = new Dictionary<string, double> { ["epoch_loss"] = r.Loss, ["epoch_top1"] = r.Top1, ["rss_mb"] = MemoryReport.RssBytes() / 1048576.0 };
            string line = $"epoch {trainer.Epoch}/{config.Epochs}: loss {r.Loss:F4}, contrastive top-1 {r.Top1:P1}, {r.ImagesPerSecond:F0} img/s";
            if (monitor && (trainer.Epoch % config.KnnEvery == 0 || trainer.Epoch == config.Epochs))
            {
                knnLast = trainer.KnnAccuracy(data, o.KnnBank);
                epochMetrics["knn"] = knnLast.Value;
                line += $", kNN top-1 {knnLast:P2}";
            }
            run.Metrics.Append(state.Step, epochMetrics, trainer.Epoch);
            session.Progress.Message(line);
            WritePlots(run, monitor);
        }

        var summary = new
        {
            epochs = trainer.Epoch, totalEpochs = config.Epochs, steps = state.Step, lastEpochLoss = lastLoss,
            knnInit = knnInit ?? FirstKnn(run), knnLast, imagesPerSecond = rate,
            rssStartMb = rssStart / 1048576.0, rssEndMb = MemoryReport.RssBytes() / 1048576.0,
            checkpoint = session.LastCheckpoint,
        };
        session.Finish(summary, ["loss", "top1"]);
        WritePlots(run, monitor);
        return new MocoPretrainResult(run.Root, trainer.Epoch, summary.knnInit, knnLast, lastLoss, rate);
    }

    static void WritePlots(RunFolder run, bool knn)
    {
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("loss"), ["loss"], "MoCo InfoNCE loss");
        LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("contrastive_top1"), ["top1"], "contrastive top-1 (positive ranked first)");
        if (knn) LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("knn"), ["knn"], "kNN top-1 (test split)", byEpoch: true);
    }

    static double? FirstKnn(RunFolder run) =>
        run.Metrics.ReadAll().Where(m => m.Values.ContainsKey("knn")).Select(m => (double?)m.Values["knn"]).FirstOrDefault();
}
