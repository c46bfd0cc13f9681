using Unsup.Bench.Registration;
using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Bench;

/// <summary>The DIPY SyN wrapper of bench/registration on one tiny pair (needs Debian's python3-dipy).</summary>
public class DipySynRegistrationTests
{
    [SkippableFact]
    public void TinyShiftedBlobPairIsAlignedAndTheFieldFollowsUnsupsConvention()
    {
        TestData.Python("print(1)", "dipy", "nibabel");   // skips without DIPY
        using var dir = TestData.Temp();
        using var scope = NewDisposeScope();
        var g = meshgrid([arange(20f), arange(24f), arange(20f)], indexing: "ij");
        Tensor Blob(double s) => exp(-((g[0] - 10 - s).square() + (g[1] - 12).square() * 1.5 + (g[2] - 10).square()) / 25.0).to(ScalarType.Float32);
        Tensor Labels(Tensor img) => ((img > 0.5).to(ScalarType.Int32) + (img > 0.8).to(ScalarType.Int32));
        var (fImg, mImg) = (Blob(0), Blob(2.5));
        var (fLab, mLab) = (Labels(fImg), Labels(mImg));
        var eye = new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } };
        NiftiWriter.Write(dir.File("f.nii.gz"), NiftiImage.Create(fImg, eye));
        NiftiWriter.Write(dir.File("m.nii.gz"), NiftiImage.Create(mImg, eye));
        NiftiWriter.Write(dir.File("ml.nii.gz"), NiftiImage.Create(mLab, eye));

        var script = Path.Combine(TestData.RepoRoot, "bench", "registration", "dipy", "syn_pair.py");
        var syn = new DipySynRegistration(script, threads: 1) { LevelIterations = [20, 10] };
        using var r = syn.Register(dir.File("f.nii.gz"), dir.File("m.nii.gz"), dir.File("ml.nii.gz"), dir.File("out"));

        Assert.Equal(new long[] { 20, 24, 20 }, r.WarpedLabels.shape);
        Assert.Equal(new long[] { 1, 3, 20, 24, 20 }, r.Forward.shape);
        double before = Dice.Mean(mLab, fLab, [1, 2]), after = Dice.Mean(r.WarpedLabels, fLab, [1, 2]);
        Assert.True(after > before + 0.1, $"Dice {before:F3} -> {after:F3}");
        Assert.True(r.Seconds > 0 && r.Seconds < 60);
        // the field read back in Unsup's layout warps the labels as DIPY did
        var mine = SpatialTransformer.Warp(mLab.to(ScalarType.Int64).reshape(1, 1, 20, 24, 20), r.Forward, Interpolation.Nearest)[0, 0];
        double agree = mine.eq(r.WarpedLabels).to(ScalarType.Float64).mean().item<double>();
        Assert.True(agree > 0.995, $"only {agree:P2} of voxels agree with DIPY's own warp");
        // the shift is along the first array axis: Unsup's channel 2
        var inside = fLab[..] > 0;
        Assert.InRange(r.Forward[0, 2][inside].mean().item<float>(), 1.5f, 3.0f);
        Assert.InRange(DeformationMetrics.PercentNonPositiveJacobian(r.Forward)[0], 0, 0.01);
    }

    [Fact]
    public void MissingScriptIsNamed()
    {
        var e = Assert.Throws<UnsupException>(() => new DipySynRegistration("/nonexistent/syn_pair.py"));
        Assert.Contains("/nonexistent/syn_pair.py", e.Message);
    }
}
