using System.Diagnostics;
using Unsup.Training;

namespace Unsup.Tests.Core.Training;

/// <summary>
/// The done-when test: SIGKILL the CLI's dummy training between checkpoints, resume it, and get the same final
/// weights as an uninterrupted run. Runs the real `unsup` binary (referenced by this project) as a subprocess.
/// </summary>
[Collection(TorchRngSerial.Name)]
public class KillResumeTests
{
    static Process Start(params string[] args) => UnsupProcess.Start(args);

    static void RunToEnd(params string[] args) => UnsupProcess.RunOk(args);

    [Fact]
    public void Sigkill_between_checkpoints_then_resume_gives_the_uninterrupted_weights()
    {
        using var dir = TestData.Temp();
        string[] common = ["dev", "dummy-train", "--steps", "60", "--checkpoint-every", "10", "--seed", "7", "--quiet"];

        var straight = Path.Combine(dir.Path, "straight");
        RunToEnd([.. common, "--out", straight]);

        var killed = Path.Combine(dir.Path, "killed");
        using (var p = Start([.. common, "--out", killed, "--step-delay-ms", "40"]))
        {
            var second = Path.Combine(killed, "checkpoints", "step-000020.ckpt");
            var metrics = Path.Combine(killed, "metrics.jsonl");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            // past the second checkpoint and a few steps into the next interval, so the resume must redo them
            while (!(File.Exists(second) && File.Exists(metrics) && File.ReadLines(metrics).Count() >= 24))
            {
                Assert.False(p.HasExited, $"dummy-train exited ({(p.HasExited ? p.ExitCode : 0)}) before it could be killed");
                Assert.True(DateTime.UtcNow < deadline, "second checkpoint never appeared");
                Thread.Sleep(10);
            }
            p.Kill();                                  // SIGKILL on Linux: no finally blocks, no flushing
            p.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, "final.bin")), "the run finished before the kill; the test proves nothing");
        var store = new CheckpointStore(Path.Combine(killed, "checkpoints"));
        long lastStep = store.List()[^1].Step;
        Assert.InRange(lastStep, 20, 50);
        Assert.True(MetricsLog.Read(Path.Combine(killed, "metrics.jsonl"))[^1].Step > lastStep, "no steps past the checkpoint were logged before the kill");

        RunToEnd([.. common, "--out", killed, "--resume"]);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "final.bin")), File.ReadAllBytes(Path.Combine(killed, "final.bin")));
        var steps = MetricsLog.Read(Path.Combine(killed, "metrics.jsonl")).Select(r => r.Step).ToList();
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), steps);   // no duplicates, no gaps
        var straightLoss = MetricsLog.Read(Path.Combine(straight, "metrics.jsonl")).Select(r => r.Get("loss"));
        Assert.Equal(straightLoss, MetricsLog.Read(Path.Combine(killed, "metrics.jsonl")).Select(r => r.Get("loss")));
    }
}
