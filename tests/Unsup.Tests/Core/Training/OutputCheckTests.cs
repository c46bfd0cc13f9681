using Unsup.IO;

namespace Unsup.Tests.Core.Training;

/// <summary>An --out that cannot be written fails at once, before data is loaded or anything is computed.</summary>
[Collection(TorchRngSerial.Name)]
public class OutputCheckTests
{
    [Fact]
    public void Folder_under_a_file_and_a_file_as_folder_are_refused_naming_the_path()
    {
        using var dir = TestData.Temp();
        var file = Path.Combine(dir.Path, "plain.txt");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<UnsupException>(() => OutputCheck.ForFolder(Path.Combine(file, "run")));
        Assert.StartsWith($"{Path.Combine(file, "run")}: cannot create the output folder", e.Message);
        e = Assert.Throws<UnsupException>(() => OutputCheck.ForFolder(file, "run folder"));
        Assert.Contains("is a file, not a folder", e.Message);
        e = Assert.Throws<UnsupException>(() => OutputCheck.ForFile(dir.Path));
        Assert.Contains("is a folder", e.Message);
        OutputCheck.ForFolder(Path.Combine(dir.Path, "a", "b"));   // creatable: fine, and created
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "a", "b")));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "a", "b")));   // the probe file is gone
    }

    [SkippableFact]
    public void Read_only_folder_is_refused()
    {
        Skip.If(Environment.UserName == "root" || !OperatingSystem.IsLinux(), "root writes into read-only folders");
        if (!OperatingSystem.IsLinux()) return;   // (tells the analyser SetUnixFileMode is reached on Unix only)
        using var dir = TestData.Temp();
        var ro = Path.Combine(dir.Path, "ro");
        Directory.CreateDirectory(ro);
        File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var e = Assert.Throws<UnsupException>(() => OutputCheck.ForFolder(Path.Combine(ro, "run")));
            Assert.Contains("permission denied or read-only", e.Message);
        }
        finally { File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    /// <summary>Each verb with --out under a plain file: exit 1 with the path in the message, and no data was read
    /// first (the inputs named do not exist, so a verb that loaded them before checking --out would fail on them instead).</summary>
    [Theory]
    [InlineData("moco pretrain --data folder:{missing} --out {out}")]
    [InlineData("moco lincls --weights {missing}/w.ckpt --data folder:{missing} --out {out}")]
    [InlineData("symnet train --images {missing} --out {out}")]
    [InlineData("symnet register --fixed {missing}/a.nii.gz --moving {missing}/b.nii.gz --out {out}")]
    [InlineData("synth --labels {missing}/seg.nii.gz --out {out}/img.nii.gz")]
    public void Verbs_refuse_an_unwritable_out_before_reading_inputs(string command)
    {
        using var dir = TestData.Temp();
        var file = Path.Combine(dir.Path, "plain.txt");
        File.WriteAllText(file, "x");
        var missing = Path.Combine(dir.Path, "missing");
        var args = command.Replace("{missing}", missing).Replace("{out}", Path.Combine(file, "out")).Split(' ');
        var r = UnsupProcess.Run(args);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Contains($"unsup: error: {file}", r.Stderr);
        Assert.Contains("cannot create the", r.Stderr);
        Assert.DoesNotContain(missing, r.Stderr);
    }
}
