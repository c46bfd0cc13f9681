using TorchSharp;
using Unsup.Cli;
using Unsup.Training;

namespace Unsup.Tests.Core.Training;

/// <summary>A checkpoint damaged on disk is caught by its SHA-256 footer, named in a warning, and the previous one used.</summary>
[Collection(TorchRngSerial.Name)]
public class CorruptCheckpointTests
{
    static DummyTrainingResult Run(string dir, long steps, bool resume = false, TextWriter? warnings = null) =>
        DummyTraining.Run(new DummyTrainingOptions
        {
            OutDir = dir, Steps = steps, CheckpointEvery = 10, Seed = 5, Resume = resume,
            Progress = ProgressMode.Quiet, Log = TextWriter.Null, Warnings = warnings ?? TextWriter.Null,
        });

    static void FlipByte(string path, long offset)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        int b = fs.ReadByte();
        fs.Position = offset;
        fs.WriteByte((byte)(b ^ 0x5A));
    }

    [Fact]
    public void Damaged_latest_checkpoint_is_reported_and_resume_continues_from_the_previous_to_the_same_weights()
    {
        using var dir = TestData.Temp();
        var clean = Run(Path.Combine(dir.Path, "clean"), 40);

        var root = Path.Combine(dir.Path, "damaged");
        Run(root, 30);                                          // stops with checkpoints at 10, 20, 30
        var store = new CheckpointStore(Path.Combine(root, "checkpoints"));
        Assert.Equal(store.PathFor(30), store.Latest);
        FlipByte(store.PathFor(30), new FileInfo(store.PathFor(30)).Length / 2);   // one byte in the middle of the weights

        var warnings = new StringWriter();
        var resumed = Run(root, 40, resume: true, warnings: warnings);

        Assert.Equal(20, resumed.StartStep);
        Assert.Contains($"warning: {store.PathFor(30)}: corrupt checkpoint (checksum mismatch); skipping it", warnings.ToString());
        Assert.Contains($"resuming from the previous checkpoint {store.PathFor(20)} (step 20)", warnings.ToString());
        Assert.Equal(File.ReadAllBytes(clean.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), MetricsLog.Read(Path.Combine(root, "metrics.jsonl")).Select(r => r.Step));
        using var check = Checkpoint.Read(store.PathFor(30));   // rewritten intact when training passed step 30 again
        Assert.Equal(30, check.Step);
    }

    [Fact]
    public void Resume_removes_the_temp_files_a_killed_run_left_and_keeps_the_checkpoints()
    {
        using var dir = TestData.Temp();
        var root = Path.Combine(dir.Path, "run");
        Run(root, 20);
        var store = new CheckpointStore(Path.Combine(root, "checkpoints"));
        // what a SIGKILL during AtomicFile writes leaves: a half-written checkpoint and a half-written metrics file
        var halfCheckpoint = Path.Combine(root, "checkpoints", $".step-000030.ckpt.4242.{Guid.NewGuid():N}.tmp");
        var halfSummary = Path.Combine(root, $".summary.json.4242.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(halfCheckpoint, new byte[100]);
        File.WriteAllText(halfSummary, "{");

        var resumed = Run(root, 30, resume: true);

        Assert.Equal(20, resumed.StartStep);
        Assert.False(File.Exists(halfCheckpoint), "the half-written checkpoint of the killed run is still there");
        Assert.False(File.Exists(halfSummary), "the half-written summary of the killed run is still there");
        Assert.Empty(Directory.EnumerateFiles(root, "*.tmp", SearchOption.AllDirectories));
        Assert.True(File.Exists(store.PathFor(30)));
    }

    [Fact]
    public void Truncated_latest_falls_back_and_all_damaged_is_an_error_naming_the_newest()
    {
        using var dir = TestData.Temp();
        using var m = torch.nn.Linear(3, 2);
        var store = new CheckpointStore(Path.Combine(dir.Path, "checkpoints"), keep: 2);
        var state = new TrainingState().AddModule("m", m);
        for (long s = 1; s <= 2; s++) { state.Step = s; store.Save(state); }

        var bytes = File.ReadAllBytes(store.PathFor(2));
        File.WriteAllBytes(store.PathFor(2), bytes[..(bytes.Length / 2)]);   // a torn copy, as a full disk outside unsup could leave
        var warnings = new List<string>();
        var restored = new TrainingState().AddModule("m", m);
        Assert.Equal(store.PathFor(1), store.RestoreNewestIntact(restored, warnings.Add));
        Assert.Equal(1, restored.Step);
        Assert.Contains(warnings, w => w.Contains(store.PathFor(2)) && w.Contains("truncated"));

        FlipByte(store.PathFor(1), 20);
        var e = Assert.Throws<UnsupException>(() => store.RestoreNewestIntact(new TrainingState().AddModule("m", m)));
        Assert.StartsWith($"{store.PathFor(2)}: ", e.Message);
        Assert.Contains("no intact checkpoint", e.Message);
    }

    [Fact]
    public void A_store_keeps_at_least_two_checkpoints()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointStore("x", keep: 1));
        Assert.Contains("at least two", e.Message);
    }
}
