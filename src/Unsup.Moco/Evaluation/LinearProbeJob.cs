using System.Globalization;
using Unsup.Data;
using Unsup.Moco.Weights;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

public sealed record LinearProbeJobOptions
{
    /// <summary>Output folder: config.json, metrics.jsonl, summary.json, plots/ (accuracy, loss, confusion matrix).</summary>
    public required string OutDir { get; init; }
    public LinearProbeOptions Probe { get; init; } = new();
    /// <summary>Paper mode: fresh random crops and flips of the training images every epoch instead of cached centre-view features.</summary>
    public bool Augmented { get; init; }
    public Device Device { get; init; } = CPU;
    public int FeatureBatch { get; init; } = 256;
    public ProgressMode Progress { get; init; } = ProgressMode.Quiet;
    /// <summary>Per-epoch lines (epoch 1, every 10th, the last); null = none.</summary>
    public TextWriter? Log { get; init; }
    /// <summary>What the run folder's config.json records besides the protocol's options (weights path, data spec, ...).</summary>
    public IReadOnlyDictionary<string, object?> Describe { get; init; } = new Dictionary<string, object?>();
}

/// <param name="TensorsCompared">Backbone tensors checked unchanged after training.</param>
public sealed record LinearProbeJobResult(LinearProbeResult Result, string RunDir, long FeatureDim, int TensorsCompared);

/// <summary>
/// `unsup moco lincls`: the linear classification protocol on a frozen pretrained backbone, in a run folder (config,
/// metrics per epoch, summary with per-class accuracy and the confusion matrix, plots), with a check that the
/// backbone did not change.
/// </summary>
public static class LinearProbeJob
{
    public static LinearProbeJobResult Run(PretrainedEncoder encoder, ImageDataset train, ImageDataset test, LinearProbeJobOptions o)
    {
        var options = o.Probe.Validate();
        var config = new Dictionary<string, object?>
        {
            ["protocol"] = o.Augmented ? "linear classification, frozen backbone, augmented training crops" : "linear classification on cached frozen features",
        };
        foreach (var (key, value) in o.Describe) config[key] = value;
        foreach (var (key, value) in new Dictionary<string, object?>
        {
            ["source"] = encoder.Source, ["format"] = encoder.Format, ["encoder"] = encoder.Describe(),
            ["epochs"] = options.Epochs, ["lr"] = options.Lr, ["schedule"] = options.Schedule, ["milestones"] = options.EffectiveMilestones,
            ["momentum"] = options.Momentum, ["weightDecay"] = options.WeightDecay, ["batchSize"] = options.BatchSize,
            ["normalizeFeatures"] = options.NormalizeFeatures, ["standardizeFeatures"] = options.StandardizeFeatures, ["seed"] = options.Seed,
        }) config[key] = value;
        var run = RunFolder.Create(o.OutDir, config);
        try { Directory.Delete(run.CheckpointsDir); } catch (IOException) { } // nothing to resume: no checkpoints

        var features = EncoderFeatures.Of(encoder, o.Device, o.FeatureBatch, o.Progress);
        var before = encoder.Backbone.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().cpu());
        try
        {
            using var xTrain = o.Augmented ? null : features.Extract(train.Images, "train features");
            using var xTest = features.Extract(test.Images, "test features");
            using var yTrain = tensor(train.Labels!);
            using var yTest = tensor(test.Labels!);

            Action<LinearProbeEpoch> onEpoch = e =>
            {
                run.Metrics.Append(e.Epoch, new Dictionary<string, double> { ["loss"] = e.Loss, ["top1"] = e.Top1, ["top5"] = e.Top5, ["lr"] = e.Lr }, e.Epoch);
                if (e.Epoch == 1 || e.Epoch % 10 == 0 || e.Epoch == options.Epochs)
                    o.Log?.WriteLine($"epoch {e.Epoch,4}/{options.Epochs}  lr {e.Lr,-8:G3} loss {e.Loss,-10:F4} top-1 {Pct(e.Top1),8}  top-5 {Pct(e.Top5),8}");
            };
            using var generator = new Generator((ulong)options.Seed + 1);
            var result = o.Augmented
                ? LinearProbe.Train(train.Count, features.AugmentedBatches(train.Images, generator), yTrain, xTest, yTest, train.ClassCount, options, o.Device, onEpoch)
                : LinearProbe.Train(xTrain!, yTrain, xTest, yTest, train.ClassCount, options, o.Device, onEpoch);

            var changed = encoder.Backbone.state_dict().Where(kv => { using var s = NewDisposeScope(); return !kv.Value.cpu().eq(before[kv.Key]).all().item<bool>(); }).Select(kv => kv.Key).ToList();
            if (changed.Count > 0)
                throw new UnsupException($"internal check failed: the frozen backbone changed during linear training ({string.Join(", ", changed.Take(5))})");

            var perClass = result.PerClassAccuracy;
            var classNames = train.ClassNames;
            run.WriteSummary(new
            {
                bestTop1 = result.Best.Top1, bestEpoch = result.Best.Epoch, lastTop1 = result.Last.Top1, lastTop5 = result.Last.Top5, bestTop5 = result.History.Max(e => e.Top5),
                lastLoss = result.Last.Loss, backboneUnchanged = true, featureDim = xTest.shape[1], trainImages = train.Count, testImages = test.Count,
                perClassAccuracy = classNames.Select((n, i) => new { @class = n, accuracy = perClass[i] }).ToArray(),
                confusion = Enumerable.Range(0, classNames.Length).Select(i => Enumerable.Range(0, classNames.Length).Select(j => result.Confusion[i, j]).ToArray()).ToArray(),
            });
            LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("accuracy"), ["top1", "top5"], "linear classifier: test accuracy", byEpoch: true);
            LossPlot.WriteFromFile(run.MetricsPath, run.PlotPath("loss"), ["loss"], "linear classifier: training loss", byEpoch: true);
            ConfusionMatrixPng.Write(run.PlotPath("confusion"), result.Confusion, classNames, $"linear classifier, epoch {result.Last.Epoch}: top-1 {Pct(result.Last.Top1)}");
            return new LinearProbeJobResult(result, run.Root, xTest.shape[1], before.Count);
        }
        finally
        {
            foreach (var t in before.Values) t.Dispose();
        }
    }

    /// <summary>"12.34%" or "n/a" (an empty split).</summary>
    public static string Pct(double v) => double.IsNaN(v) ? "n/a" : v.ToString("P2", CultureInfo.InvariantCulture);
}
