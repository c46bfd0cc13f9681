using Unsup.IO.Nifti;
using static TorchSharp.torch;

using Unsup.Tests.Registration.Training;

namespace Unsup.Tests.Cli;

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
        // --lr would change the run: it is named as ignored; --steps may extend a run and is not
        var r2 = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--resume", run, "--lr", "0.5", "--steps", "3");
        Assert.True(r2.ExitCode == 0, r2.Stderr + r2.Stdout);
        Assert.Contains("3/3 steps", r2.Stdout);
        Assert.Contains($"warning: --lr ignored: --resume {run}", r2.Stderr);
        Assert.DoesNotContain("--steps", r2.Stderr);
        Assert.DoesNotContain("\"lr\": 0.5", File.ReadAllText(Path.Combine(run, "config.json")));
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

        var r3 = UnsupProcess.Run("symnet", "train", "--images", dir.File("img"), "--similarity-weight", "0", "--out", dir.File("run3"));
        Assert.NotEqual(0, r3.ExitCode);
        Assert.Contains("--similarity-weight 0 leaves nothing to align the images", r3.Stderr);
    }

    [Fact]
    public void RegisterTakesTheRunFolderOrACheckpointOfATrainedModel()
    {
        using var dir = TestData.Temp();
        Directory.CreateDirectory(dir.File("img"));
        using (var scope = NewDisposeScope())
            for (int k = 0; k < 3; k++)
                NiftiWriter.Write(dir.File($"img/s{k}.nii.gz"), NiftiImage.Create(SyntheticPairs.Blobs3D(18, k - 1, 1 - k, 0.5 * k)[0, 0].contiguous()));
        string run = dir.File("run");
        // C = 3: not the register default of 7, so the width has to come from the weights
        var t = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--images", dir.File("img"), "--start-channels", "3",
            "--steps", "2", "--checkpoint-every", "1", "--val-every", "100", "--out", run);
        Assert.True(t.ExitCode == 0, t.Stderr + t.Stdout);

        void Register(string model, string outDir)
        {
            var r = UnsupProcess.Run("--threads", "1", "symnet", "register", "--fixed", dir.File("img/s0.nii.gz"), "--moving", dir.File("img/s1.nii.gz"),
                "--model", model, "--no-overview", "--out", dir.File(outDir));
            Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        }
        Tensor Field(string outDir)
        {
            using var img = NiftiReader.Read(Path.Combine(dir.File(outDir), "forward_field.nii.gz"));
            return img.ToFloat();
        }
        Register(run, "by_folder");
        Register(Path.Combine(run, "model.pth"), "by_pth");
        Register(Path.Combine(run, "checkpoints", "step-000001.ckpt"), "by_ckpt");
        using var scope2 = NewDisposeScope();
        // the folder stands for its latest checkpoint: the final weights, as model.pth
        Assert.True(Field("by_folder").allclose(Field("by_pth"), rtol: 0, atol: 0));
        Assert.True(Field("by_pth").abs().max().item<float>() > 0);
        Assert.Equal(new long[] { 18, 18, 18, 1, 3 }, Field("by_ckpt").shape);

        // a file that is not SYMNet weights: one line naming it
        var notWeights = dir.File("notes.pth");
        File.WriteAllText(notWeights, "hello");
        var e = UnsupProcess.Run("symnet", "register", "--fixed", dir.File("img/s0.nii.gz"), "--moving", dir.File("img/s1.nii.gz"),
            "--model", notWeights, "--out", dir.File("bad"));
        Assert.Equal(1, e.ExitCode);
        Assert.Contains(notWeights, e.Stderr);
        Assert.Contains("is not SYMNet weights", e.Stderr);
        Assert.DoesNotContain("   at ", e.Stderr);
    }
}
