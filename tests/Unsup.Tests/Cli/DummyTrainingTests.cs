using Unsup.Cli;
using Unsup.Training;

using Unsup.Tests.Core.Training;

namespace Unsup.Tests.Cli;

[Collection(TorchRngSerial.Name)]
public class DummyTrainingTests
{
    static DummyTrainingResult Run(string dir, long steps, bool resume = false, long? poison = null, Action<long>? after = null, long every = 10) =>
        DummyTraining.Run(new DummyTrainingOptions
        {
            OutDir = dir, Steps = steps, CheckpointEvery = every, Seed = 11, Resume = resume, PoisonStep = poison,
            Progress = ProgressMode.Quiet, Log = TextWriter.Null, AfterStep = after,
        });

    [Fact]
    public void Live_tensor_count_stays_flat_over_300_steps_with_checkpoints()
    {
        using var dir = TestData.Temp();
        var live = new Dictionary<long, long>();
        Run(Path.Combine(dir.Path, "run"), 300, every: 50, after: s => { if (s % 50 == 0) live[s] = MemoryReport.LiveTensors; });
        Assert.Equal(6, live.Count);
        // after the first checkpoint everything long-lived exists (momentum buffers etc.); nothing may pile up after it
        Assert.All(live.Where(kv => kv.Key > 50), kv => Assert.True(kv.Value == live[50], $"step {kv.Key}: {kv.Value} live tensors, step 50: {live[50]}"));
    }

    [Fact]
    public void Nan_guard_stops_the_run_keeps_the_last_good_checkpoint_and_resume_finishes_it_identically()
    {
        using var dir = TestData.Temp();
        var clean = Run(Path.Combine(dir.Path, "clean"), 40);

        var root = Path.Combine(dir.Path, "poisoned");
        var e = Assert.Throws<NonFiniteException>(() => Run(root, 40, poison: 25));
        Assert.Contains("step 25: loss is NaN; stopped", e.Message);
        Assert.Contains($"step-000020.ckpt (resume with --resume {Path.GetFullPath(root)})", e.Message);
        var store = new CheckpointStore(Path.Combine(root, "checkpoints"));
        Assert.Equal(20, store.List()[^1].Step);

        var resumed = Run(root, 40, resume: true);
        Assert.Equal(20, resumed.StartStep);
        Assert.Equal(File.ReadAllBytes(clean.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
        var metrics = MetricsLog.Read(Path.Combine(root, "metrics.jsonl"));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), metrics.Select(r => r.Step));
        // every step logs the process's resident memory at the same point (bench/memory/run.sh reads the trend from it)
        Assert.All(metrics, r => Assert.InRange(r.Get("rss_mb") ?? 0, 1, 1 << 20));
        Assert.True(File.Exists(Path.Combine(root, "plots", "loss.png")));
        Assert.True(File.Exists(Path.Combine(root, "summary.json")));
    }

    [Fact]
    public void Resume_with_another_seed_or_without_a_run_is_refused()
    {
        using var dir = TestData.Temp();
        var e = Assert.Throws<UnsupException>(() => Run(Path.Combine(dir.Path, "nothing"), 10, resume: true));
        Assert.Contains("not a training run", e.Message);
        var root = Path.Combine(dir.Path, "r");
        Run(root, 5, every: 5);
        e = Assert.Throws<UnsupException>(() => DummyTraining.Run(new DummyTrainingOptions { OutDir = root, Steps = 10, Seed = 12, Resume = true, Progress = ProgressMode.Quiet, Log = TextWriter.Null }));
        Assert.Contains("seed 11", e.Message);
        e = Assert.Throws<UnsupException>(() => Run(root, 10));
        Assert.Contains("already holds a training run", e.Message);
    }
}
