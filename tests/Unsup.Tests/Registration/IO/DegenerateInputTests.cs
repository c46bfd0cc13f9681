using Unsup.IO.Nifti;
using Unsup.Registration.IO;
using Unsup.Registration.Model;
using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.IO;

/// <summary>
/// Degenerate inputs to `symnet register` (through <see cref="RegisterPairJob"/>) and `unsup synth` (through
/// <see cref="SynthesisJob"/>): constant images, NaN/Inf voxels, empty label maps, images that do not overlap. Each is
/// refused with a message naming the file, or gives a finite documented result; nothing NaN is written.
/// </summary>
public sealed class DegenerateInputTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("unsup-degenerate").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    string Volume(string name, Tensor data)
    {
        var path = Path.Combine(_dir, name);
        NiftiWriter.Write(path, NiftiImage.Create(data));
        return path;
    }

    static Tensor Blob(int cx)
    {
        var g = arange(16, ScalarType.Float32);
        var x = (g - cx).pow(2).reshape(16, 1, 1) + (g - 8).pow(2).reshape(1, 16, 1) + (g - 8).pow(2).reshape(1, 1, 16);
        return (x < 9).to(ScalarType.Float32) * 100;
    }

    UnsupException Register(string fixedPath, string movingPath, string? movingLabels = null)
    {
        var weights = Path.Combine(_dir, "w.pth");
        if (!File.Exists(weights)) { manual_seed(0); using var m = new SymNet(2, 3); SymNetWeights.Save(m, weights); }
        var outDir = Path.Combine(_dir, "out");
        var e = Assert.Throws<UnsupException>(() => RegisterPairJob.Run(new RegisterPairOptions
        {
            FixedPath = fixedPath, MovingPath = movingPath, WeightsPath = weights, OutDir = outDir, MovingLabelsPath = movingLabels, Overview = false,
        }));
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFiles(outDir).Any(), "outputs were written for a refused pair");
        return e;
    }

    [Fact]
    public void ConstantImageIsRefused()
    {
        using var scope = NewDisposeScope();
        var fixedPath = Volume("fixed.nii", Blob(8));
        var moving = Volume("constant.nii", full([16, 16, 16], 5f));
        var e = Register(fixedPath, moving);
        Assert.Contains("constant.nii: is a constant image (every voxel is 5)", e.Message);
    }

    [Fact]
    public void NaNAndInfVoxelsAreRefused()
    {
        using var scope = NewDisposeScope();
        var fixedPath = Volume("fixed.nii", Blob(8));
        var bad = Blob(8);
        bad[3, 3, 3] = tensor(float.NaN);
        bad[4, 4, 4] = tensor(float.PositiveInfinity);
        var e = Register(fixedPath, Volume("nan.nii", bad));
        Assert.Contains("nan.nii: 2 of 4096 voxels are NaN or infinite", e.Message);
    }

    [Fact]
    public void ImagesThatDoNotOverlapAreRefused()
    {
        using var scope = NewDisposeScope();
        var e = Register(Volume("left.nii", Blob(3)), Volume("right.nii", Blob(12)));
        Assert.Contains("do not overlap", e.Message);
        Assert.Contains("right.nii", e.Message);
    }

    [Fact]
    public void EmptyLabelMapIsRefused()
    {
        using var scope = NewDisposeScope();
        var empty = Path.Combine(_dir, "empty_seg.nii");
        NiftiWriter.Write(empty, NiftiImage.Create(zeros([16, 16, 16], ScalarType.Int32)));
        var e = Register(Volume("fixed.nii", Blob(8)), Volume("moving.nii", Blob(9)), empty);
        Assert.Contains("empty_seg.nii: is an empty label map", e.Message);
    }

    [Fact]
    public void ValidPairGivesFiniteFields()
    {
        // the same checks must let an ordinary pair through (the refusals above are not blanket failures)
        using var scope = NewDisposeScope();
        var weights = Path.Combine(_dir, "w.pth");
        manual_seed(0);
        using (var m = new SymNet(2, 3)) SymNetWeights.Save(m, weights);
        var outDir = Path.Combine(_dir, "ok");
        RegisterPairJob.Run(new RegisterPairOptions
        {
            FixedPath = Volume("a.nii", Blob(8)), MovingPath = Volume("b.nii", Blob(9)), WeightsPath = weights, OutDir = outDir, Overview = false,
        });
        using var field = NiftiReader.Read(Path.Combine(outDir, "forward_field.nii.gz"));
        Assert.True(field.Data.isfinite().all().item<bool>());
    }

    [Theory]
    [InlineData(AffineMode.Off)]   // one grid: the official inference path
    [InlineData(AffineMode.On)]    // world path (affine, resampled into the network grid)
    public void NonFiniteFieldsAreRefusedOnBothPathsAndLeaveNoFolder(AffineMode affine)
    {
        using var scope = NewDisposeScope();
        var weights = Path.Combine(_dir, "nan.pth");
        manual_seed(0);
        using (var m = new SymNet(2, 3))
        {
            using (no_grad()) foreach (var p in m.parameters()) p.fill_(float.NaN);
            SymNetWeights.Save(m, weights);
        }
        var outDir = Path.Combine(_dir, $"nan-{affine}");
        var e = Assert.Throws<NonFiniteFieldException>(() => RegisterPairJob.Run(new RegisterPairOptions
        {
            FixedPath = Volume("a.nii", Blob(8)), MovingPath = Volume("b.nii", Blob(9)), WeightsPath = weights, OutDir = outDir,
            Overview = false, Affine = affine, Network = new Unsup.Registration.Geometry.NetworkSpace([16, 16, 16], 1.0),
        }));
        Assert.Contains("non-finite displacements", e.Message);
        Assert.Contains("nan.pth", e.Message);
        Assert.False(Directory.Exists(outDir), "the output folder made for a failed pair was left behind");
    }

    SynthesisRequest Synth(string labels, string outPath) => new()
    {
        LabelMaps = [labels], Out = outPath, Synthesizer = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()), Seed = 1,
    };

    [Fact]
    public void SynthOfAnEmptyLabelMapIsRefused()
    {
        using var scope = NewDisposeScope();
        var empty = Path.Combine(_dir, "empty_seg.nii");
        NiftiWriter.Write(empty, NiftiImage.Create(zeros([16, 16, 16], ScalarType.Int32)));
        var e = Assert.Throws<UnsupException>(() => SynthesisJob.Run(Synth(empty, Path.Combine(_dir, "img.nii.gz"))));
        Assert.Contains("empty_seg.nii", e.Message);
        Assert.Contains("empty label map", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "img.nii.gz")));
    }

    [Fact]
    public void SynthOfANaNLabelMapIsRefused()
    {
        using var scope = NewDisposeScope();
        var map = (Blob(8) / 50).round();
        map[1, 1, 1] = tensor(float.NaN);
        var path = Volume("nan_seg.nii", map);
        var e = Assert.Throws<UnsupException>(() => SynthesisJob.Run(Synth(path, Path.Combine(_dir, "img.nii.gz"))));
        Assert.Contains("nan_seg.nii", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "img.nii.gz")));
    }
}
