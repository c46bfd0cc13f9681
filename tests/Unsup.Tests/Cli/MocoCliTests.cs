using System.Text.Json;

namespace Unsup.Tests.Cli;

/// <summary>`unsup moco pretrain` end to end on a small Fashion-MNIST subset.</summary>
public class MocoCliTests
{
    static readonly string[] Tiny =
    [
        "moco", "pretrain", "--data", "fashion-mnist", "--preset", "cifar", "--arch", "resnet18", "--width", "4", "--epochs", "2",
        "--max-images", "1024", "--batch-size", "128", "--moco-k", "512", "--knn-bank", "1024", "--threads", "1", "--quiet",
    ];

    static string[] Args(params string[] extra) => [.. Tiny, .. extra];

    static List<JsonElement> Metrics(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [SkippableFact]
    public void TimeLimitedRunResumesToTheSameWeightsAsAnUninterruptedOne()
    {
        Prerequisite.Require(Directory.Exists("/usr/share/datasets/fashion-mnist"), "dataset-fashion-mnist not installed");
        using var dir = TestData.Temp();
        string whole = dir.File("whole"), parts = dir.File("parts");
        var a = UnsupProcess.Run(Args("--out", whole));
        Assert.True(a.ExitCode == 0, a.Stderr);
        var b = UnsupProcess.Run(Args("--out", parts, "--time-limit", "0.01"));
        Assert.True(b.ExitCode == 0, b.Stderr);
        long stoppedAt = Metrics(parts).Where(m => m.TryGetProperty("loss", out _)).Max(m => m.GetProperty("step").GetInt64());
        Assert.True(stoppedAt < 16, $"the time limit did not interrupt the run (it reached step {stoppedAt})");
        // --epochs and --lr given with --resume are named as ignored (the byte-identical checkpoint below shows they were)
        var c = UnsupProcess.Run("moco", "pretrain", "--resume", parts, "--threads", "1", "--quiet", "--epochs", "3", "--lr", "0.5");
        Assert.True(c.ExitCode == 0, c.Stderr);
        Assert.Contains($"warning: --epochs, --lr ignored: --resume {parts}", c.Stderr);

        // 2 epochs of 8 steps: the final checkpoints (model, queue, optimizer, RNG, epoch order) are byte-identical
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoints", "step-000016.ckpt")),
                     File.ReadAllBytes(Path.Combine(parts, "checkpoints", "step-000016.ckpt")));
        foreach (var png in new[] { "loss.png", "contrastive_top1.png", "knn.png" })
            Assert.True(File.Exists(Path.Combine(parts, "plots", png)), png);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(parts, "summary.json"))).RootElement;
        Assert.True(summary.GetProperty("knnInit").GetDouble() > 0.1);
    }

    [SkippableFact]
    public void KeepCheckpointsZeroKeepsEveryCheckpointAndOneIsRefused()
    {
        Prerequisite.Require(Directory.Exists("/usr/share/datasets/fashion-mnist"), "dataset-fashion-mnist not installed");
        using var dir = TestData.Temp();
        string all = dir.File("all"), few = dir.File("few");
        // 2 epochs of 8 steps, a checkpoint every 4: the default keeps the last 3, 0 keeps all 4
        var a = UnsupProcess.Run(Args("--out", all, "--checkpoint-every", "4", "--keep-checkpoints", "0", "--knn-every", "0"));
        Assert.True(a.ExitCode == 0, a.Stderr);
        var b = UnsupProcess.Run(Args("--out", few, "--checkpoint-every", "4", "--knn-every", "0"));
        Assert.True(b.ExitCode == 0, b.Stderr);
        string[] Kept(string run) => Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.ckpt").Select(Path.GetFileName).Order().ToArray()!;
        Assert.Equal(["step-000004.ckpt", "step-000008.ckpt", "step-000012.ckpt", "step-000016.ckpt"], Kept(all));
        Assert.Equal(["step-000008.ckpt", "step-000012.ckpt", "step-000016.ckpt"], Kept(few));
        Assert.Contains("\"keepCheckpoints\": 0", File.ReadAllText(Path.Combine(all, "config.json")));   // a resume keeps them too

        var c = UnsupProcess.Run(Args("--out", dir.File("one"), "--keep-checkpoints", "1"));
        Assert.Equal(1, c.ExitCode);
        Assert.Contains("--keep-checkpoints 1: keep at least 2", c.Stderr);
        Assert.False(File.Exists(Path.Combine(dir.File("one"), "config.json")));   // refused before a run starts
    }

    [Fact]
    public void ResumeOfAFolderThatIsNotARunIsAClearError()
    {
        using var dir = TestData.Temp();
        var r = UnsupProcess.Run("moco", "pretrain", "--resume", dir.Path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(dir.Path, r.Stderr);
        Assert.Contains("config.json", r.Stderr);
    }
}
