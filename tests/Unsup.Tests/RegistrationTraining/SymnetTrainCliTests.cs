using Unsup.IO.Nifti;
using Unsup.Tests.Cli;
using static TorchSharp.torch;

namespace Unsup.Tests.RegistrationTraining;

/// <summary>`unsup symnet train` end to end on tiny 2D subjects: a run, its resume, and one-line errors.</summary>
public class SymnetTrainCliTests
{
    static void WriteSubjects(TempDir dir, int count)
    {
        Directory.CreateDirectory(dir.File("img"));
        Directory.CreateDirectory(dir.File("lab"));
        using var scope = NewDisposeScope();
        var (images, labels) = SyntheticPairs.Subjects2D(count, n: 24);
        for (int i = 0; i < count; i++)
        {
            NiftiWriter.Write(dir.File($"img/s{i}.nii.gz"), NiftiImage.Create(images[i, 0].reshape(24, 24, 1).contiguous()));
            NiftiWriter.Write(dir.File($"lab/s{i}.nii.gz"), NiftiImage.Create(labels[i, 0].to(ScalarType.Int16).reshape(24, 24, 1).contiguous()));
        }
    }

    [Fact]
    public void TrainsResumesAndWritesTheRunFolder()
    {
        using var dir = TestData.Temp();
        WriteSubjects(dir, 4);
        string run = dir.File("run");
        var r = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--images", dir.File("img"), "--labels", dir.File("lab"), "--val", "2",
            "--start-channels", "2", "--steps", "3", "--stop-after", "2", "--checkpoint-every", "1", "--val-every", "1", "--out", run);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("2/3 steps", r.Stdout);
        var r2 = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--resume", run);
        Assert.True(r2.ExitCode == 0, r2.Stderr + r2.Stdout);
        Assert.Contains("3/3 steps", r2.Stdout);
        Assert.Contains("validation Dice", r2.Stdout);
        foreach (var f in new[] { "config.json", "metrics.jsonl", "summary.json", "model.pth", "plots/loss.png", "plots/val_dice.png", "plots/val_folding.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing");
        Assert.Contains("\"startChannels\": 2", File.ReadAllText(Path.Combine(run, "config.json")));
    }

    [Fact]
    public void BadInputsGiveOneLineErrorsNamingTheFile()
    {
        using var dir = TestData.Temp();
        WriteSubjects(dir, 3);
        NiftiWriter.Write(dir.File("img/s3.nii.gz"), NiftiImage.Create(zeros(24, 20, 1)));
        var r = UnsupProcess.Run("symnet", "train", "--images", dir.File("img"), "--out", dir.File("run"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("s3.nii.gz", r.Stderr);
        Assert.Contains("one grid", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);

        var r2 = UnsupProcess.Run("symnet", "train", "--out", dir.File("run"));
        Assert.NotEqual(0, r2.ExitCode);
        Assert.Contains("or --label-maps is required", r2.Stderr);
    }
}
