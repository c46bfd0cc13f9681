using System.Diagnostics;
using System.IO.Compression;
using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Evaluation;
using Unsup.Moco.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

/// <summary>
/// Not a unit test: a timed MoCo run on real Fashion-MNIST, skipped unless UNSUP_MOCO_BENCH names a log file.
/// UNSUP_MOCO_BENCH_MINUTES (default 12) bounds the training time; kNN at random init and after training. Trains
/// through <see cref="MocoPretraining"/>, the job `moco pretrain` runs.
/// </summary>
public class FashionMnistBench(ITestOutputHelper output)
{
    const string Dir = "/usr/share/datasets/fashion-mnist";

    static Tensor ReadIdx(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        var b = ms.ToArray();
        int Be(int o) => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
        int magic = Be(0), n = Be(4);
        if (magic == 0x803)
        {
            int h = Be(8), w = Be(12);
            return tensor(b[16..(16 + n * h * w)], [n, 1, h, w], dtype: ScalarType.Byte);
        }
        if (magic == 0x801) return tensor(b[8..(8 + n)], [n], dtype: ScalarType.Byte).to(ScalarType.Int64);
        throw new InvalidDataException($"{path}: bad IDX magic {magic:x}");
    }

    static int Env(string name, int dflt) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : dflt;

    [SkippableFact]
    public void Train_on_fashion_mnist_and_compare_knn_with_random_init()
    {
        var log = Environment.GetEnvironmentVariable("UNSUP_MOCO_BENCH");
        Skip.If(string.IsNullOrEmpty(log), "set UNSUP_MOCO_BENCH=/path/to/log to run the Fashion-MNIST benchmark");
        void Log(string s) { var line = $"{DateTime.Now:HH:mm:ss} {s}"; output.WriteLine(line); File.AppendAllText(log!, line + "\n"); }

        int minutes = Env("UNSUP_MOCO_BENCH_MINUTES", 12), width = Env("UNSUP_MOCO_BENCH_WIDTH", 16);
        int batch = Env("UNSUP_MOCO_BENCH_BATCH", 256), epochs = Env("UNSUP_MOCO_BENCH_EPOCHS", 10);
        int logEvery = Env("UNSUP_MOCO_BENCH_LOG_EVERY", 20);
        int bankSize = Env("UNSUP_MOCO_BENCH_BANK", 10000), testSize = Env("UNSUP_MOCO_BENCH_TEST", 2000);
        Unsup.TorchRuntime.SetThreads(Env("UNSUP_MOCO_BENCH_THREADS", 2));
        Unsup.TorchRuntime.Seed(0);

        var trainImages = ReadIdx($"{Dir}/train-images-idx3-ubyte.gz");
        var trainLabels = ReadIdx($"{Dir}/train-labels-idx1-ubyte.gz");
        var testImages = ReadIdx($"{Dir}/t10k-images-idx3-ubyte.gz").narrow(0, 0, testSize);
        var testLabels = ReadIdx($"{Dir}/t10k-labels-idx1-ubyte.gz").narrow(0, 0, testSize);
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
        if (Environment.GetEnvironmentVariable("UNSUP_MOCO_BENCH_PREVIEW") is { Length: > 0 } preview)
            AugmentationPreview.WritePng(preview, trainImages, config.BuildAugmentation(Normalize.FashionMnist), rows: 8, generator: new TorchSharp.torch.Generator(0));
        if (Env("UNSUP_MOCO_BENCH_RAW_K1", 0) == 1)
        {
            var knn1 = KnnEvaluation.EvaluatePixels(trainImages.narrow(0, 0, bankSize), trainLabels.narrow(0, 0, bankSize), testImages, testLabels, 10, k: 1);
            Log($"raw-pixel 1-NN cosine (bank {bankSize}, test {testSize}): {knn1.Top1:P2}");
        }
        using (var g = new TorchSharp.torch.Generator(0))
        {
            var augmentation = config.BuildAugmentation(Normalize.FashionMnist);
            var batchImages = trainImages.narrow(0, 0, batch);
            var t = Stopwatch.StartNew();
            for (int i = 0; i < 3; i++) { var (a, b) = augmentation.TwoViews(batchImages, g); a.Dispose(); b.Dispose(); }
            Log($"augmentation alone: {3 * batch / t.Elapsed.TotalSeconds:F0} img/s (two views each)");
        }
        var total = Stopwatch.StartNew();
        long rss0 = Process.GetCurrentProcess().WorkingSet64;
        var runDir = Path.Combine(Path.GetTempPath(), $"unsup-moco-bench-{Environment.ProcessId}");
        var result = MocoPretraining.Run(data, new MocoPretrainOptions
        {
            RunDir = runDir, Config = config with { KnnEvery = 1 }, KnnBank = bankSize, TimeLimit = TimeSpan.FromMinutes(minutes),
            Progress = Unsup.Training.ProgressMode.Plain, Log = new StringWriter(),
        });
        foreach (var m in Unsup.Training.MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl")).Where(m => m.Values.ContainsKey("knn")))
            Log($"step {m.Step} epoch {m.Epoch}: kNN {m.Get("knn"):P2}");
        double init = result.KnnInit!.Value, last = result.KnnLast!.Value;
        Directory.Delete(runDir, recursive: true);
        Log($"done in {total.Elapsed.TotalMinutes:F1} min; kNN random init {init:P2} -> trained {last:P2}; rss {rss0 >> 20} -> {Process.GetCurrentProcess().WorkingSet64 >> 20} MB");
        Assert.True(last > init, $"kNN did not improve: {init:P2} -> {last:P2}");
    }
}
