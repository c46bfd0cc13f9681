using System.Globalization;
using Unsup.Data;
using Unsup.Moco.Evaluation;
using Unsup.Moco.Weights;
using Unsup.Training;

using Unsup.Tests.Cli;

namespace Unsup.Tests.Moco.Evaluation;

/// <summary>One feature extractor and one kNN: the pretraining monitor's number for a checkpoint is the one `moco knn` gives.</summary>
public class KnnMonitorTests
{
    [Fact]
    public void Logged_knn_of_a_pretraining_run_equals_moco_knn_with_head_features_and_the_library_job_on_its_checkpoint()
    {
        using var tmp = TestData.Temp();
        var data = MocoUseCliTests.ImageFolder(tmp.File("imgs"));
        var run = tmp.File("run");
        var pre = UnsupProcess.Run(["moco", "pretrain", "--data", "folder:" + data, "--preset", "cifar", "--arch", "resnet18", "--width", "4",
            "--batch-size", "8", "--bn-splits", "2", "--moco-k", "16", "--epochs", "1", "--out", run, "--threads", "1", "-q"]);
        Assert.True(pre.ExitCode == 0, pre.Stderr + pre.Stdout);
        var logged = MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Where(m => m.Values.ContainsKey("knn")).ToList();
        Assert.Equal(2, logged.Count);                                 // random init, then after epoch 1
        double monitor = logged[^1].Get("knn")!.Value;
        Assert.Equal(monitor, logged[^1].Get("knn_head"));             // the default monitor reads the head, and says so

        // the library job on the run's checkpoint (the monitor's k 200, t 0.1 are the job's defaults)
        using var encoder = EncoderWeights.Load(run);
        using var train = ImageFolder.Load(Path.Combine(data, "train"), new ImageFolderOptions());
        using var test = ImageFolder.Load(Path.Combine(data, "test"), new ImageFolderOptions());
        var job = KnnJob.Run(encoder, train, test, new KnnJobOptions { Features = KnnFeatures.Head });
        Assert.Equal(monitor, job.Encoder.Top1);
        Assert.Equal(128, job.FeatureDim);                             // the linear head of the cifar preset

        // and the verb
        var knn = UnsupProcess.Run(["moco", "knn", "--weights", run, "--data", "folder:" + data, "--threads", "1", "--knn-features", "head"]);
        Assert.True(knn.ExitCode == 0, knn.Stderr + knn.Stdout);
        var line = knn.Stdout.Split('\n').Single(l => l.StartsWith("encoder ("));
        Assert.StartsWith("encoder (head, 128-d)", line);
        Assert.Contains(monitor.ToString("P2", CultureInfo.InvariantCulture), line);

        // without the option `moco knn` reads the pooled backbone features and says so
        var plain = UnsupProcess.Run(["moco", "knn", "--weights", run, "--data", "folder:" + data, "--threads", "1"]);
        Assert.True(plain.ExitCode == 0, plain.Stderr + plain.Stdout);
        Assert.Contains(plain.Stdout.Split('\n'), l => l.StartsWith("encoder (backbone, 32-d)"));
        // the monitor ran on the weights in the checkpoint, not on weights changed after it
        Assert.Equal(logged[^1].Step, new CheckpointStore(Path.Combine(run, "checkpoints")).List()[^1].Step);
    }
}
