using System.Diagnostics;
using Unsup.Cli;
using Unsup.Training;

namespace Unsup.Tests.Core.Training;

/// <summary>
/// A run whose disk fills up stops with a message naming the file, leaves no temp file, and resumes to the
/// uninterrupted weights once there is space. The full disk is a real one: a 48 KB tmpfs (needs root and mount;
/// skipped otherwise), grown with a remount to give the space back.
/// </summary>
[Collection(TorchRngSerial.Name)]
public class DiskFullTests
{
    static bool Sh(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    [SkippableFact]
    public void Full_disk_stops_with_a_clear_message_no_temp_files_and_resumes_to_the_same_weights()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "needs root to mount a small tmpfs");
        using var dir = TestData.Temp();
        string[] common = ["dev", "dummy-train", "--steps", "60", "--checkpoint-every", "10", "--seed", "9", "--quiet"];
        var straight = Path.Combine(dir.Path, "straight");
        UnsupProcess.RunOk([.. common, "--out", straight]);

        var disk = Path.Combine(dir.Path, "disk");
        Directory.CreateDirectory(disk);
        Skip.IfNot(Sh($"mount -t tmpfs -o size=48k tmpfs '{disk}'"), "mount -t tmpfs not permitted here");
        try
        {
            var root = Path.Combine(disk, "run");
            var full = UnsupProcess.Run([.. common, "--out", root]);
            Assert.Equal(1, full.ExitCode);
            Assert.Contains("unsup: error: ", full.Stderr);
            Assert.Contains("No space left on device", full.Stderr);
            Assert.Contains($"continue with --resume {root}", full.Stderr);
            var ckpts = Path.Combine(root, "checkpoints");
            Assert.Empty(Directory.GetFiles(ckpts, "*.tmp").Concat(Directory.GetFiles(ckpts, ".*")));
            var store = new CheckpointStore(ckpts);
            Assert.NotEmpty(store.List());                       // it got somewhere before the disk filled
            Assert.False(File.Exists(Path.Combine(root, "final.bin")));

            Assert.True(Sh($"mount -o remount,size=4m '{disk}'"), "remount failed");
            UnsupProcess.RunOk([.. common, "--out", root, "--resume"]);
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "final.bin")), File.ReadAllBytes(Path.Combine(root, "final.bin")));
        }
        finally { Sh($"umount '{disk}'"); }
    }

    /// <summary>The same stop without root: the checkpoint's target name is taken by a folder, so its rename fails.</summary>
    [Fact]
    public void Failed_checkpoint_write_names_the_step_the_last_good_checkpoint_and_the_resume_command()
    {
        using var dir = TestData.Temp();
        DummyTrainingResult Run(string root, bool resume, Action<long>? after = null) => DummyTraining.Run(new DummyTrainingOptions
        {
            OutDir = root, Steps = 30, CheckpointEvery = 10, Seed = 4, Resume = resume, Progress = ProgressMode.Quiet, Log = TextWriter.Null, AfterStep = after,
        });
        var clean = Run(Path.Combine(dir.Path, "clean"), false);
        var root = Path.Combine(dir.Path, "run");
        var ckpts = Path.Combine(root, "checkpoints");
        var blocked = Path.Combine(ckpts, "step-000020.ckpt");
        var e = Assert.Throws<UnsupException>(() => Run(root, false, s => { if (s == 15) Directory.CreateDirectory(blocked); }));
        Assert.StartsWith($"{blocked}: cannot write (", e.Message);
        Assert.Contains($"the run stopped at step 20 without this checkpoint (last complete one: {Path.Combine(ckpts, "step-000010.ckpt")})", e.Message);
        Assert.EndsWith($"continue with --resume {Path.GetFullPath(root)}", e.Message);
        Assert.Empty(Directory.GetFiles(ckpts, "*.tmp"));

        Directory.Delete(blocked);
        var resumed = Run(root, true);
        Assert.Equal(10, resumed.StartStep);
        Assert.Equal(File.ReadAllBytes(clean.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
    }
}
