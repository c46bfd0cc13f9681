using System.Diagnostics;
using Unsup.Data;
using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Evaluation;
using Unsup.Moco.Training;
using static TorchSharp.torch;

namespace Unsup.Bench.Moco;

/// <summary>
/// A timed MoCo run on real Fashion-MNIST: raw-pixel kNN, kNN of the encoder at random initialisation and after
/// training for --minutes (or --epochs, whichever ends first). Log lines go to the console and OUT/fashion-mnist.log,
/// the summary table to OUT/fashion-mnist.md. Exit code 3 when training did not improve kNN.
/// </summary>
public static class FashionMnistBench
{
    public static int Run(BenchArgs a, string outDir)
    {
        string dir = a.String("data") ?? "/usr/share/datasets/fashion-mnist";
        double minutes = a.Double("minutes", 12);
        int width = a.Int("width", 16), batch = a.Int("batch", 256), epochs = a.Int("epochs", 10), logEvery = Math.Max(1, a.Int("log-every", 20));
        int bankSize = a.Int("bank", 10000), testSize = a.Int("test", 2000);
        Directory.CreateDirectory(outDir);
        string logPath = Path.Combine(outDir, "fashion-mnist.log");
        File.WriteAllText(logPath, "");
        void Log(string s) { var line = $"{DateTime.Now:HH:mm:ss} {s}"; Console.WriteLine(line); File.AppendAllText(logPath, line + "\n"); }

        Unsup.TorchRuntime.Seed(0);
        using var train = FashionMnist.Load(dir, train: true);
        using var test = FashionMnist.Load(dir, train: false);
        int trainCount = (int)Math.Min(a.Int("train", (int)train.Count), train.Count);
        bankSize = Math.Min(bankSize, trainCount); testSize = (int)Math.Min(testSize, test.Count);
        var trainImages = train.Images.narrow(0, 0, trainCount);
        var trainLabels = tensor(train.Labels!).narrow(0, 0, trainCount);
        var testImages = test.Images.narrow(0, 0, testSize);
        var testLabels = tensor(test.Labels!).narrow(0, 0, testSize);
        var data = new MocoData(trainImages, trainLabels, testImages, testLabels, 10);

        var sw = Stopwatch.StartNew();
        double raw = KnnEvaluation.EvaluatePixels(trainImages.narrow(0, 0, bankSize), trainLabels.narrow(0, 0, bankSize), testImages, testLabels, 10).Top1;
        Log($"raw-pixel kNN (bank {bankSize}, test {testSize}): {raw:P2} in {sw.Elapsed.TotalSeconds:F0}s");

        var config = MocoConfig.FromPreset("cifar") with
        {
            Width = width, InChannels = 1, CropSize = 28, CropScaleMin = 0.2, BatchSize = batch, Symmetric = false,
            Epochs = epochs, QueueSize = 4096, BnSplits = 8,
        };
        Log("config " + config.ToJson().Replace("\n", " ").Replace("  ", ""));
        if (a.String("preview") is { } preview)
            AugmentationPreview.WritePng(preview, trainImages, config.BuildAugmentation(Normalize.FashionMnist), rows: 8, generator: new Generator(0));
        if (a.Flag("raw-k1"))
        {
            var knn1 = KnnEvaluation.EvaluatePixels(trainImages.narrow(0, 0, bankSize), trainLabels.narrow(0, 0, bankSize), testImages, testLabels, 10, k: 1);
            Log($"raw-pixel 1-NN cosine (bank {bankSize}, test {testSize}): {knn1.Top1:P2}");
        }

        // trains through MocoPretraining, the job `moco pretrain` runs
        var total = Stopwatch.StartNew();
        long rss0 = Environment.WorkingSet;
        var runDir = Path.Combine(Path.GetTempPath(), $"unsup-moco-bench-{Environment.ProcessId}");
        var result = MocoPretraining.Run(data, new MocoPretrainOptions
        {
            RunDir = runDir, Config = config with { KnnEvery = 1 }, KnnBank = bankSize, TimeLimit = TimeSpan.FromMinutes(minutes),
            Progress = Unsup.Training.ProgressMode.Plain, Log = new StringWriter(),
        });
        var metrics = Unsup.Training.MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl")).ToList();
        foreach (var m in metrics.Where(m => m.Values.ContainsKey("knn")))
            Log($"step {m.Step} epoch {m.Epoch}: kNN {m.Get("knn"):P2}");
        double imagesPerSecond = metrics.Where(m => m.Values.ContainsKey("img_per_s")).Select(m => m.Get("img_per_s") ?? 0).DefaultIfEmpty(0).Last();
        long epochsDone = metrics.Where(m => m.Values.ContainsKey("knn")).Select(m => m.Epoch ?? 0).DefaultIfEmpty(0).Max();
        double init = result.KnnInit!.Value, last = result.KnnLast!.Value;
        Directory.Delete(runDir, recursive: true);
        long rss1 = Environment.WorkingSet;
        Log($"done in {total.Elapsed.TotalMinutes:F1} min; kNN random init {init:P2} -> trained {last:P2}; rss {rss0 >> 20} -> {rss1 >> 20} MB");

        var table = new ResultTable("", "kNN top-1 (test)");
        table.Add($"raw pixels (bank {bankSize})", $"{raw:P2}");
        table.Add($"encoder at random initialisation", $"{init:P2}");
        table.Add($"after {total.Elapsed.TotalMinutes:F1} min of training ({epochsDone} full epochs)", $"**{last:P2}**");
        table.Write(Path.Combine(outDir, "fashion-mnist.md"), "MoCo on Fashion-MNIST (unsup-bench-moco fashion-mnist)",
        [
            $"Width {width}, batch {batch}, {trainCount} training images, bank {bankSize}, {testSize} test queries, k = 200, t = 0.1; " +
            $"last logged {imagesPerSecond:F0} img/s; resident memory {rss0 >> 20} -> {rss1 >> 20} MB; {Environment.ProcessorCount} CPUs, {DateTime.Now:yyyy-MM-dd}.",
            "Log: fashion-mnist.log.",
        ]);
        if (last <= init) { Console.Error.WriteLine($"kNN did not improve: {init:P2} -> {last:P2}"); return 3; }
        return 0;
    }
}
