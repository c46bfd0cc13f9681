using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Geometry;
using Unsup.Registration.IO;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Geometry;

/// <summary>`symnet register` on images with their own grids: end to end, transformix agreement, and bad inputs.</summary>
public class RegisterAnyGridTests
{
    static string Weights => TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth");

    static string Write(TempDir dir, string name, Tensor data, double[,] affine, short intent = 0)
    {
        var path = dir.File(name);
        VolumeFile.Write(path, NiftiImage.Create(data, affine, "", intent));
        return path;
    }

    /// <summary>An image and label map resampled (linear / nearest) onto another grid at the same world position.</summary>
    static (string Image, string Labels) Regrid(TempDir dir, string image, string labels, VolumeGeometry target, string name)
    {
        using var scope = NewDisposeScope();
        using var img = VolumeFile.Read(image); using var lab = VolumeFile.Read(labels);
        var vox = WorldResampler.Transform(WorldResampler.WorldPoints(target), Matrix4.Inverse(img.Affine));
        return (Write(dir, name + ".nii.gz", WorldResampler.Sample(img.ToFloat(), vox), target.Affine),
                Write(dir, name + "_seg.nii.gz", WorldResampler.Sample(lab.Data.to(ScalarType.Int32), vox), target.Affine, NiftiIntent.Label));
    }

    [Fact]
    public void WholeHeadScansOnDifferentGridsRegisterAsWellAsOnACommonGrid()
    {
        using var dir = TestData.Temp();
        // two whole-head images synthesised from the shared SynthSeg label maps at 2 mm (their native LIA grid, halved)
        foreach (var (i, seed) in new[] { ("01", "1"), ("02", "2") })
        {
            var r = UnsupProcess.Run("synth", "--labels", TestData.Shared($"synthseg/training_seg_{i}.nii.gz"), "--head", "--downsample", "2",
                "--out", dir.File($"img{i}.nii.gz"), "--out-labels", dir.File($"seg{i}.nii.gz"), "--seed", seed);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        // the moving scan on a 2.4 mm RAS grid with another field of view (the 1.2 mm case of 1 mm scans, halved)
        using var fixedImg = VolumeFile.Read(dir.File("img01.nii.gz"));
        var centre = new VolumeGeometry(fixedImg.Shape, fixedImg.Affine).Centre;
        long[] shape = [83, 95, 87];
        var ras = new VolumeGeometry(shape, WorldGeometryTests.Ras(2.4, shape, [centre[0] + 5, centre[1] - 8, centre[2] + 12]));
        var (movingRas, segRas) = Regrid(dir, dir.File("img02.nii.gz"), dir.File("seg02.nii.gz"), ras, "moving_ras");

        RegisterPairSummary Run(string moving, string seg, string outDir) => RegisterPairJob.Run(new RegisterPairOptions
        {
            FixedPath = dir.File("img01.nii.gz"), MovingPath = moving, MovingLabelsPath = seg, FixedLabelsPath = dir.File("seg01.nii.gz"),
            FixedMaskPath = BrainMask(dir, dir.File("seg01.nii.gz")), MovingMaskPath = BrainMask(dir, seg),
            WeightsPath = Weights, OutDir = dir.File(outDir), Overview = false, Affine = AffineMode.On, Network = NetworkSpace.AtSpacing(2),
        });
        var any = Run(movingRas, segRas, "any");
        var common = Run(dir.File("img02.nii.gz"), dir.File("seg02.nii.gz"), "common");
        Assert.StartsWith("world", any.Geometry);
        double diceAny = BrainDice(any.Outputs["moved_labels"], dir.File("seg01.nii.gz"));
        double diceCommon = BrainDice(common.Outputs["moved_labels"], dir.File("seg01.nii.gz"));
        Assert.True(any.MeanDice > any.MeanDiceBefore + 0.03, $"registration did not help: {any.MeanDiceBefore} -> {any.MeanDice}");
        Assert.True(Math.Abs(diceAny - diceCommon) <= 0.02, $"brain-structure Dice on different grids {diceAny:F4} vs common grid {diceCommon:F4}");
        using var moved = VolumeFile.Read(any.Outputs["moved_labels"]);
        Assert.Equal(fixedImg.Shape, moved.Shape); // back on the fixed grid
        Assert.True(Matrix4.MaxAbsDifference(moved.Affine, fixedImg.Affine) < 1e-4);
        using var itk = VolumeFile.Read(any.Outputs["forward_field_itk"]);
        Assert.Equal(NiftiIntent.DispVect, itk.Header.IntentCode);
        Assert.Equal([.. fixedImg.Shape, 1L, 3L], itk.Shape);
    }

    /// <summary>FreeSurfer brain structures (VoxelMorph's evaluation set, both hemispheres).</summary>
    static readonly long[] BrainStructures = [2, 3, 4, 7, 8, 10, 11, 12, 13, 16, 17, 18, 28, 41, 42, 43, 46, 47, 49, 50, 51, 52, 53, 54, 60];

    static double BrainDice(string moved, string fixedSeg)
    {
        using var a = VolumeFile.Read(moved); using var b = VolumeFile.Read(fixedSeg);
        return Unsup.Registration.Metrics.Dice.Mean(a.Data.to(ScalarType.Int64), b.Data.to(ScalarType.Int64), BrainStructures);
    }

    /// <summary>A brain mask from a label map: labels 1–499 except the outer CSF (24), as SynthSeg's brain labels.</summary>
    static string BrainMask(TempDir dir, string seg)
    {
        using var scope = NewDisposeScope();
        using var l = VolumeFile.Read(seg);
        var d = l.Data;
        var path = seg.Replace(".nii.gz", "_mask.nii.gz");
        if (!File.Exists(path)) VolumeFile.Write(path, l.Like(((d > 0) & (d < 500) & (d != 24)).to(ScalarType.Byte)));
        return path;
    }

    [SkippableFact]
    public void TransformixAppliesTheExportedAffineAndFieldLikeUnsup()
    {
        Skip.If(!File.Exists("/usr/bin/transformix"), "elastix's transformix is not installed");
        using var dir = TestData.Temp();
        using var scope = NewDisposeScope();
        var fixedGrid = VolumeGeometry.Lia([36, 40, 36], 2.0, [1, 2, -1]);
        var movingGrid = new VolumeGeometry([50, 46, 48], WorldGeometryTests.Ras(1.5, [50, 46, 48], [4, -3, 6]));
        var truth = WorldGeometryTests.Motion(8, 1.06, 4, -3, 5);
        var moving = WorldGeometryTests.Phantom(WorldResampler.Transform(WorldResampler.WorldPoints(movingGrid), Matrix4.Inverse(truth)));
        var labels = (moving * 4).floor().clamp(0, 3).to(ScalarType.Int32);
        string movingPath = Write(dir, "moving.nii.gz", moving, movingGrid.Affine);
        string labelsPath = Write(dir, "moving_seg.nii.gz", labels, movingGrid.Affine, NiftiIntent.Label);
        using var fixedImg = NiftiImage.Create(zeros(36, 40, 36), fixedGrid.Affine);

        // a world map: the affine plus a smooth bump, as a displacement on the fixed grid
        var x = WorldResampler.WorldPoints(fixedGrid);
        var bump = 3 * (-(x.square().sum(-1, keepdim: true)) / 400).exp() * tensor(new float[] { 1, -0.5f, 0.7f });
        var mapped = WorldResampler.Transform(x, truth) + bump;
        var movingVox = WorldResampler.Transform(mapped, Matrix4.Inverse(movingGrid.Affine));
        string field = dir.File("field.nii.gz");
        ItkTransformFiles.WriteDisplacementField(field, fixedImg, mapped - x, NiftiIntent.Vector);

        var cases = new (string Name, Action<string, bool> WriteParams, Tensor Voxels)[]
        {
            ("affine", (p, l) => ItkTransformFiles.WriteElastixAffine(p, truth, [3, -2, 5], fixedImg, l), WorldResampler.Transform(x, Matrix4.Multiply(Matrix4.Inverse(movingGrid.Affine), truth))),
            ("field", (p, l) => ItkTransformFiles.WriteElastixField(p, field, fixedImg, l), movingVox),
        };
        foreach (var (name, writeParams, vox) in cases)
        {
            writeParams(dir.File($"{name}.txt"), false);
            writeParams(dir.File($"{name}_labels.txt"), true);
            var ours = WorldResampler.Sample(moving, vox);
            var oursLabels = WorldResampler.Sample(labels, vox);
            using var theirs = Transformix(dir, movingPath, dir.File($"{name}.txt"), $"{name}_img");
            using var theirLabels = Transformix(dir, labelsPath, dir.File($"{name}_labels.txt"), $"{name}_seg");
            var diff = (theirs.ToFloat() - ours).abs();
            Assert.True(diff.mean().item<float>() < 2e-3 && diff.max().item<float>() < 0.05, $"{name}: intensities differ by mean {diff.mean().item<float>()}, max {diff.max().item<float>()}");
            var ids = new long[] { 1, 2, 3 };
            double dice = Unsup.Registration.Metrics.Dice.Mean(theirLabels.Data.to(ScalarType.Int64), oursLabels.to(ScalarType.Int64), ids);
            Assert.True(dice >= 0.99, $"{name}: label Dice {dice}");
        }
    }

    static NiftiImage Transformix(TempDir dir, string input, string parameters, string outName)
    {
        var outDir = dir.File(outName);
        Directory.CreateDirectory(outDir);
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/transformix") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-in", input, "-out", outDir, "-tp", parameters }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync(); var se = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, so.Result + se);
        return VolumeFile.Read(Path.Combine(outDir, "result.nii.gz"));
    }

    static UnsupException Fails(RegisterPairOptions o) => Assert.Throws<UnsupException>(() => RegisterPairJob.Run(o));

    RegisterPairOptions Options(TempDir dir, string fixedPath, string movingPath) => new()
    {
        FixedPath = fixedPath, MovingPath = movingPath, WeightsPath = Weights, OutDir = dir.File("out"), Overview = false,
    };

    [Fact]
    public void AnImageWithoutOrientationOnAnotherGridIsRefusedByName()
    {
        using var dir = TestData.Temp();
        string f = Write(dir, "fixed.nii.gz", rand(20, 20, 20), WorldGeometryTests.Ras(1, [20, 20, 20], [0, 0, 0]));
        using var m = NiftiImage.Create(rand(18, 20, 22));
        m.Header.SformCode = 0; m.Header.QformCode = 0;
        string mp = dir.File("moving.nii.gz");
        NiftiWriter.Write(mp, m);
        var e = Fails(Options(dir, f, mp));
        Assert.Contains("moving.nii.gz", e.Message);
        Assert.Contains("no usable orientation (qform_code and sform_code are both 0)", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void A2DImageForThe3DModelIsRefused()
    {
        using var dir = TestData.Temp();
        string f = Write(dir, "fixed.nii.gz", rand(20, 20, 20), NiftiAffine.Identity());
        string m = Write(dir, "slice.nii.gz", rand(20, 20, 1), NiftiAffine.Identity());
        var e = Fails(Options(dir, f, m));
        Assert.Contains("slice.nii.gz", e.Message);
        Assert.Contains("is a 2D image of shape 20x20x1; a 3D image is expected", e.Message);
    }

    [Fact]
    public void AMaskOnAnotherGridThanItsImageIsRefused()
    {
        using var dir = TestData.Temp();
        var a = WorldGeometryTests.Ras(1, [20, 20, 20], [0, 0, 0]);
        string f = Write(dir, "fixed.nii.gz", rand(20, 20, 20), a);
        string m = Write(dir, "moving.nii.gz", rand(20, 20, 20), a);
        string smaller = Write(dir, "mask_small.nii.gz", ones(16, 20, 20), a);
        var e = Fails(Options(dir, f, m) with { MovingMaskPath = smaller });
        Assert.Contains("mask_small.nii.gz: mask of shape 16x20x20 is on another grid than its image", e.Message);
        string shifted = Write(dir, "mask_shifted.nii.gz", ones(20, 20, 20), WorldGeometryTests.Ras(1, [20, 20, 20], [5, 0, 0]));
        e = Fails(Options(dir, f, m) with { FixedMaskPath = shifted });
        Assert.Contains("mask_shifted.nii.gz: mask is on another grid than its image", e.Message);
        Assert.Contains("voxel-to-world affine", e.Message);
    }
}
