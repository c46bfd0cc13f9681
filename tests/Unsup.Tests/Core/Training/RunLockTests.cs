using Unsup.Training;

namespace Unsup.Tests.Core.Training;

/// <summary>One writer per run folder: a second one is refused with a clear message; a killed one leaves no lock behind.</summary>
[Collection(TorchRngSerial.Name)]
public class RunLockTests
{
    [Fact]
    public void Second_lock_on_a_folder_is_refused_naming_the_holder_and_released_on_dispose()
    {
        using var dir = TestData.Temp();
        var root = Path.Combine(dir.Path, "run");
        using (RunLock.Acquire(root))
        {
            var e = Assert.Throws<UnsupException>(() => RunLock.Acquire(root));
            Assert.StartsWith($"{Path.GetFullPath(root)}: is in use by another unsup process (pid {Environment.ProcessId} on ", e.Message);
            Assert.Contains("two runs cannot write one folder", e.Message);
        }
        using (RunLock.Acquire(root)) { }
    }

    [Fact]
    public void Two_processes_on_one_run_folder_the_second_is_refused_and_a_killed_holder_leaves_it_free()
    {
        using var dir = TestData.Temp();
        var root = Path.Combine(dir.Path, "run");
        string[] common = ["dev", "dummy-train", "--out", root, "--steps", "40", "--checkpoint-every", "10", "--seed", "3", "--quiet"];
        using (var first = UnsupProcess.Start([.. common, "--step-delay-ms", "1000"]))
        {
            var metrics = Path.Combine(root, "metrics.jsonl");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!File.Exists(metrics))
            {
                Assert.False(first.HasExited, "the first run exited early");
                Assert.True(DateTime.UtcNow < deadline, "the first run never started");
                Thread.Sleep(20);
            }
            var second = UnsupProcess.Run([.. common, "--resume"]);
            Assert.Equal(1, second.ExitCode);
            Assert.Contains($"unsup: error: {root}: is in use by another unsup process (pid {first.Id} on ", second.Stderr);
            Assert.False(first.HasExited, "the first run must be alive during the refusal, or the test proves nothing");
            first.Kill();                              // SIGKILL: no cleanup code runs
            first.WaitForExit();
        }
        Assert.True(File.Exists(Path.Combine(root, RunLock.FileName)), "the lock file stays after a kill; only the OS lock goes");
        var third = UnsupProcess.RunOk([.. common, "--resume"]);
        Assert.True(File.Exists(Path.Combine(root, "final.bin")), third.Stdout);
    }
}
