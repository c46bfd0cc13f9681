using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Tests.Cli;

/// <summary>`unsup synth` and `unsup symnet train --label-maps` end to end.</summary>
public class SynthCliTests
{
    static readonly double[,] Affine = { { -1, 0, 0, 12 }, { 0, 0, 1, -10 }, { 0, -1, 0, 14 }, { 0, 0, 0, 1 } };

    /// <summary>A small "head": scalp (507) around a brain of cortex (3), white matter (2/41) and ventricles (4), shifted per subject.</summary>
    static string WriteHead(TempDir dir, string name, int shift)
    {
        using var scope = NewDisposeScope();
        var l = zeros([32, 30, 28], ScalarType.Int16);
        l[TensorIndex.Slice(1, 31), TensorIndex.Slice(1, 29), TensorIndex.Slice(1, 27)] = tensor((short)507);
        l[TensorIndex.Slice(5 + shift, 25 + shift), TensorIndex.Slice(5, 25), TensorIndex.Slice(4, 24)] = tensor((short)3);
        l[TensorIndex.Slice(8 + shift, 22 + shift), TensorIndex.Slice(8, 22), TensorIndex.Slice(7, 14)] = tensor((short)2);
        l[TensorIndex.Slice(8 + shift, 22 + shift), TensorIndex.Slice(8, 22), TensorIndex.Slice(14, 21)] = tensor((short)41);
        l[TensorIndex.Slice(12 + shift, 17 + shift), TensorIndex.Slice(12, 18), TensorIndex.Slice(11, 17)] = tensor((short)4);
        string path = dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        NiftiWriter.Write(path, NiftiImage.Create(l, Affine, "", NiftiIntent.Label));
        return path;
    }

    [Fact]
    public void OneMapKeepsItsGridAndAffineAndTheSeedReproducesTheImage()
    {
        using var dir = TestData.Temp();
        string seg = WriteHead(dir, "seg.nii.gz", 0);
        var r = UnsupProcess.Run("synth", "--labels", seg, "--priors", "builtin", "--out", dir.File("a.nii.gz"), "--seed", "3");
        Assert.True(r.ExitCode == 0, r.Stderr);
        UnsupProcess.Run("synth", "--labels", seg, "--priors", "builtin", "--out", dir.File("b.nii.gz"), "--seed", "3");
        UnsupProcess.Run("synth", "--labels", seg, "--priors", "builtin", "--out", dir.File("c.nii.gz"), "--seed", "4");
        using var a = NiftiReader.Read(dir.File("a.nii.gz"));
        using var b = NiftiReader.Read(dir.File("b.nii.gz"));
        using var c = NiftiReader.Read(dir.File("c.nii.gz"));
        Assert.Equal([32L, 30, 28], a.Shape);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) Assert.Equal(Affine[i, j], a.Affine[i, j], 5);
        Assert.True((a.Data == b.Data).all().item<bool>());
        Assert.False((a.Data == c.Data).all().item<bool>());
        using var lab = NiftiReader.Read(seg);
        // skull-stripped by default: the scalp is as dark as the background, white matter brighter than ventricles
        var l = lab.Data.to(ScalarType.Int64);
        var img = a.ToFloat();
        Assert.True(img[l == 507].mean().item<float>() < 0.1f);
        Assert.True(img[l == 2].mean().item<float>() > img[l == 4].mean().item<float>() + 0.2f);
    }

    [Fact]
    public void AFolderIsCroppedAroundEachBrainDownsampledAndWrittenWithItsLabels()
    {
        using var dir = TestData.Temp();
        WriteHead(dir, "maps/s0.nii.gz", 0);
        WriteHead(dir, "maps/s1.nii.gz", 3);
        var r = UnsupProcess.Run("synth", "--labels", dir.File("maps"), "--priors", "builtin", "--crop", "brain", "--downsample", "2", "--deform", "--out", dir.File("out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var s in new[] { "s0", "s1" })
        {
            using var img = NiftiReader.Read(dir.File($"out/images/{s}.nii.gz"));
            using var lab = NiftiReader.Read(dir.File($"out/labels/{s}.nii.gz"));
            Assert.Equal(img.Shape, lab.Shape);
            Assert.Equal([14L, 14, 14], img.Shape);                   // (20 + 2·4) / 2
            Assert.Equal(-2.0, img.Affine[0, 0], 6);                   // 2 mm voxels
            var values = lab.Data.to(ScalarType.Int64).unique().Item1.data<long>().ToArray();
            // no scalp, nothing invented; a left-right flip renames cortex 3 and ventricle 4 as their right partners 42, 43
            Assert.Subset(new HashSet<long> { 0, 2, 3, 4, 41, 42, 43 }, values.ToHashSet());
        }
        var kept = UnsupProcess.Run("synth", "--labels", dir.File("maps"), "--priors", "builtin", "--crop", "brain", "--downsample", "2", "--deform", "--no-flip",
            "--out", dir.File("out2"));
        Assert.True(kept.ExitCode == 0, kept.Stderr);
        foreach (var s in new[] { "s0", "s1" })
        {
            using var lab = NiftiReader.Read(dir.File($"out2/labels/{s}.nii.gz"));
            Assert.Subset(new HashSet<long> { 0, 2, 3, 4, 41 }, lab.Data.to(ScalarType.Int64).unique().Item1.data<long>().ToHashSet());
        }
    }

    [Fact]
    public void BadLabelMapsAreOneLineErrorsAndLeaveNoOutput()
    {
        using var dir = TestData.Temp();
        NiftiWriter.Write(dir.File("t1.nii.gz"), NiftiImage.Create(rand(8, 8, 8)));
        var r = UnsupProcess.Run("synth", "--labels", dir.File("t1.nii.gz"), "--priors", "builtin", "--out", dir.File("o.nii.gz"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("t1.nii.gz", r.Stderr);
        Assert.Contains("non-integer", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.False(File.Exists(dir.File("o.nii.gz")));
        var r2 = UnsupProcess.Run("synth", "--labels", dir.File("missing.nii.gz"), "--priors", "builtin", "--out", dir.File("o.nii.gz"));
        Assert.Equal(1, r2.ExitCode);
        Assert.Contains("missing.nii.gz", r2.Stderr);
        var r3 = UnsupProcess.Run("synth", "--labels", dir.File("t1.nii.gz"), "--priors", dir.File("nopriors"), "--out", dir.File("o.nii.gz"));
        Assert.Equal(1, r3.ExitCode);
        Assert.Contains("nopriors", r3.Stderr);
    }

    [Fact]
    public void SynthSegPriorsOnARealMapGiveT1TissueOrder()
    {
        string seg = TestData.Shared("synthseg/training_seg_01.nii.gz");
        string priors = Path.GetDirectoryName(TestData.Shared("synthseg/prior_means_t1.npy"))!;
        using var dir = TestData.Temp();
        var r = UnsupProcess.Run("synth", "--labels", seg, "--priors", priors, "--crop", "brain", "--downsample", "2",
            "--out", dir.File("t1.nii.gz"), "--out-labels", dir.File("lab.nii.gz"), "--seed", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var img = NiftiReader.Read(dir.File("t1.nii.gz"));
        using var lab = NiftiReader.Read(dir.File("lab.nii.gz"));
        var l = lab.Data.to(ScalarType.Int64);
        var x = img.ToFloat();
        float Mean(params long[] ids) => x[ids.Select(id => l == id).Aggregate((p, q) => p.logical_or(q))].mean().item<float>();
        float wm = Mean(2, 41), cortex = Mean(3, 42), ventricles = Mean(4, 43), background = Mean(0);
        Assert.True(wm > cortex && cortex > ventricles && ventricles > background, $"WM {wm}, cortex {cortex}, ventricles {ventricles}, background {background}");
        Assert.DoesNotContain("warning", r.Stderr);   // SynthSeg's own pairing file, no reconstruction
        var old = UnsupProcess.Run("synth", "--labels", seg, "--priors", priors, "--classes", "unsup", "--crop", "brain", "--downsample", "4",
            "--out", dir.File("old.nii.gz"));
        Assert.True(old.ExitCode == 0, old.Stderr);
        Assert.Contains("warning: --classes unsup", old.Stderr);
    }

    [Fact]
    public void TrainingFromLabelMapsAloneSynthesisesPairsAndValidates()
    {
        using var dir = TestData.Temp();
        for (int i = 0; i < 4; i++) WriteHead(dir, $"maps/s{i}.nii.gz", i % 3);
        string run = dir.File("run");
        var r = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--label-maps", dir.File("maps"), "--priors", "builtin", "--crop", "brain",
            "--val", "2", "--start-channels", "2", "--steps", "2", "--val-every", "1", "--checkpoint-every", "1", "--out", run);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("synthesised from label maps", r.Stdout);
        Assert.Contains("validation Dice", r.Stdout);
        Assert.True(File.Exists(Path.Combine(run, "model.pth")));
        Assert.Contains("labelMaps", File.ReadAllText(Path.Combine(run, "config.json")));
        Assert.Contains("\"pairContrast\": \"same\"", File.ReadAllText(Path.Combine(run, "config.json")));   // the CLI's default
        Assert.Contains("same contrast per pair", r.Stdout);
        var scans = UnsupProcess.Run("symnet", "train", "--images", dir.File("maps"), "--pair-contrast", "same", "--out", dir.File("run3"));
        Assert.Equal(1, scans.ExitCode);
        Assert.Contains("--pair-contrast", scans.Stderr);
        var both = UnsupProcess.Run("symnet", "train", "--label-maps", dir.File("maps"), "--images", dir.File("maps"), "--out", dir.File("run2"));
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("not both", both.Stderr);
    }

    [Fact]
    public void TrainingOnWholeHeadSynthesesKeepsTheScalpAndDrawsTheBackground()
    {
        using var dir = TestData.Temp();
        for (int i = 0; i < 4; i++) WriteHead(dir, $"maps/s{i}.nii.gz", i % 3);
        string run = dir.File("run");
        var r = UnsupProcess.Run("--threads", "1", "-q", "symnet", "train", "--label-maps", dir.File("maps"), "--priors", Path.GetDirectoryName(TestData.Shared("synthseg/prior_means_t1.npy"))!, "--crop", "brain", "--head",
            "--val", "2", "--start-channels", "2", "--steps", "1", "--val-every", "1", "--out", run);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("whole head", r.Stdout);
        Assert.Contains("\"wholeHead\": true", File.ReadAllText(Path.Combine(run, "config.json")));

        // what the trainer synthesises from that config (SynthSeg's priors, which give the scalp and background their own
        // intensities): the scalp is in the crop and nothing is exactly zero but the padding
        var c = Unsup.Registration.Training.SymNetTraining.ReadConfig(run);
        using var data = Unsup.Registration.Training.SymNetTrainingSource.Load(c);
        using var scope = NewDisposeScope();
        var (image, labels) = data.TrainingSample(0, seed: 3);
        Assert.True(labels!.eq(507).any().item<bool>(), "the scalp should be kept");
        var inside = image[TensorIndex.Ellipsis, TensorIndex.Slice(0, 20), TensorIndex.Slice(0, 20), TensorIndex.Slice(0, 20)];   // the crop (28x28x28 at most) before its padding
        Assert.True(inside.eq(0).to(ScalarType.Float32).mean().item<float>() < 0.01f, "a whole-head image has no zero background");
        using var stripped = Unsup.Registration.Training.SymNetTrainingSource.Load(c with { WholeHead = false });
        var (strippedImage, strippedLabels) = stripped.TrainingSample(0, seed: 3);
        Assert.False(strippedLabels!.eq(507).any().item<bool>());
        Assert.Equal(strippedImage.shape, image.shape);   // one crop, around the brain, either way

        var scans = UnsupProcess.Run("symnet", "train", "--images", dir.File("maps"), "--head", "--out", dir.File("run2"));
        Assert.Equal(1, scans.ExitCode);
        Assert.Contains("--head", scans.Stderr);
    }
}
