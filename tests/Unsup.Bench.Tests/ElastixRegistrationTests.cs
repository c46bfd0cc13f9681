using Unsup.Bench.Registration;
using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Bench.Tests;

public class ElastixRegistrationTests
{
    static string ParameterDir => Path.Combine(TestData.RepoRoot, "bench", "registration", "elastix");

    [Fact]
    public void SetParameter_replaces_an_existing_line_or_appends_one()
    {
        const string text = "// comment (FinalBSplineInterpolationOrder 3)\n(FinalBSplineInterpolationOrder 3)\n(Transform \"BSplineTransform\")\n";
        var s = ElastixRegistration.SetParameter(text, "FinalBSplineInterpolationOrder", "0");
        Assert.Contains("\n(FinalBSplineInterpolationOrder 0)\n", s);
        Assert.Contains("// comment (FinalBSplineInterpolationOrder 3)", s); // comments are left alone
        s = ElastixRegistration.SetParameter(s, "ResultImagePixelType", "\"int\"");
        Assert.EndsWith("(ResultImagePixelType \"int\")\n", s);
    }

    [Fact]
    public void ForLabels_points_the_chain_at_the_rewritten_initial_transform()
    {
        const string tp1 = "(InitialTransformParametersFileName \"/out/elastix/TransformParameters.0.txt\")\n" +
                           "(FinalBSplineInterpolationOrder 3)\n(ResultImagePixelType \"float\")\n";
        var s = ElastixRegistration.ForLabels(tp1, "/out/labels/nn 0.txt");
        Assert.Contains("(InitialTransformParametersFileName \"/out/labels/nn 0.txt\")", s);
        Assert.Contains("(FinalBSplineInterpolationOrder 0)", s);
        Assert.Contains("(ResultImagePixelType \"int\")", s);
        Assert.DoesNotContain("TransformParameters.0.txt", s);
    }

    [Fact]
    public void FoldingPercent_counts_non_positive_determinants_in_the_mask()
    {
        var detJ = tensor(new float[] { 1, 0, -0.5f, 2 }, [2, 2]);
        Assert.Equal(50.0, ElastixRegistration.FoldingPercent(detJ), 9);
        var mask = tensor(new long[] { 1, 1, 0, 0 }, [2, 2]);
        Assert.Equal(50.0, ElastixRegistration.FoldingPercent(detJ, mask), 9);
        Assert.Equal(0.0, ElastixRegistration.FoldingPercent(detJ, tensor(new long[] { 1, 0, 0, 1 }, [2, 2])), 9);
    }

    /// <summary>
    /// Labels of nested boxes on a 40^3 2 mm grid stored with a flipped and permuted axis order (as SynthSeg's
    /// training maps are), the moving image shifted by 3 voxels: elastix must undo the shift, which only
    /// happens when it reads the Unsup-written qform/sform and the result comes back on the fixed voxel grid.
    /// </summary>
    [SkippableFact]
    public void Elastix_undoes_a_shift_of_a_synthetic_pair()
    {
        Prerequisite.Require(File.Exists("/usr/bin/elastix") && File.Exists("/usr/bin/transformix"), "elastix not installed");
        using var tmp = TestData.Temp();
        var header = new NiftiHeader();
        NiftiAffine.Set(header, new double[,] { { -2, 0, 0, 40 }, { 0, 0, 2, -30 }, { 0, -2, 0, 50 }, { 0, 0, 0, 1 } });

        var fixedLabels = zeros([40, 40, 40], ScalarType.Int64);
        fixedLabels[TensorIndex.Slice(6, 34), TensorIndex.Slice(8, 32), TensorIndex.Slice(5, 35)] = tensor(2L);
        fixedLabels[TensorIndex.Slice(10, 22), TensorIndex.Slice(12, 28), TensorIndex.Slice(9, 20)] = tensor(3L);
        fixedLabels[TensorIndex.Slice(22, 30), TensorIndex.Slice(12, 20), TensorIndex.Slice(20, 31)] = tensor(4L);
        var movingLabels = roll(fixedLabels, [3, -2], [0, 2]);
        Write(tmp.File("fixed_labels.nii.gz"), fixedLabels, header);
        Write(tmp.File("moving_labels.nii.gz"), movingLabels, header);
        // different contrasts in the two images, as in the benchmark (hence mutual information)
        Write(tmp.File("fixed.nii.gz"), Intensity(fixedLabels, [0, 0, 100, 60, 20]), header);
        Write(tmp.File("moving.nii.gz"), Intensity(movingLabels, [0, 0, 90, 40, 25]), header);

        // the benchmark's files, made cheaper for a 40^3 image (2 levels, fewer iterations)
        var affine = Shrink(File.ReadAllText(Path.Combine(ParameterDir, "affine.txt")));
        var bspline = Shrink(File.ReadAllText(Path.Combine(ParameterDir, "bspline.txt")));
        bspline = ElastixRegistration.SetParameter(bspline, "GridSpacingSchedule", "2.0 1.0");
        bspline = ElastixRegistration.SetParameter(bspline, "FinalGridSpacingInPhysicalUnits", "16.0");
        File.WriteAllText(tmp.File("affine.txt"), affine);
        File.WriteAllText(tmp.File("bspline.txt"), bspline);

        var reg = new ElastixRegistration(tmp.File("affine.txt"), tmp.File("bspline.txt"), threads: 2);
        using var result = reg.Register(tmp.File("fixed.nii.gz"), tmp.File("moving.nii.gz"), tmp.File("moving_labels.nii.gz"),
                                        tmp.File("out"), "synthetic pair");
        Assert.Equal(ScalarType.Int64, result.WarpedLabels.dtype);
        Assert.Equal(new long[] { 40, 40, 40 }, result.WarpedLabels.shape);
        Assert.Equal(new long[] { 40, 40, 40 }, result.JacobianDeterminant.shape);
        long[] ids = [2, 3, 4];
        double before = Dice.Mean(fixedLabels, movingLabels, ids);
        double after = Dice.Mean(fixedLabels, result.WarpedLabels, ids);
        Assert.True(after > 0.95 && after > before + 0.3, $"Dice before {before:F3}, after {after:F3}");
        Assert.True(result.FoldingPercent < 0.5, $"det J <= 0 in {result.FoldingPercent:F3}% of voxels");
        Assert.True(result.RegistrationSeconds > 0 && result.WarpSeconds > 0);
        Assert.True(File.Exists(Path.Combine(result.OutputFolder, "elastix", "elastix.console.log")));
    }

    [SkippableFact]
    public void A_failing_elastix_run_names_the_pair_and_quotes_its_log()
    {
        Prerequisite.Require(File.Exists("/usr/bin/elastix"), "elastix not installed");
        using var tmp = TestData.Temp();
        var header = new NiftiHeader();
        NiftiAffine.Set(header, NiftiAffine.Identity());
        var labels = zeros([12, 12, 12], ScalarType.Int64);
        labels[TensorIndex.Slice(3, 9), TensorIndex.Slice(3, 9), TensorIndex.Slice(3, 9)] = tensor(1L);
        Write(tmp.File("img.nii.gz"), labels.to_type(ScalarType.Float32), header);
        Write(tmp.File("labels.nii.gz"), labels, header);
        File.WriteAllText(tmp.File("bad.txt"), ElastixRegistration.SetParameter(
            File.ReadAllText(Path.Combine(ParameterDir, "affine.txt")), "Transform", "\"NoSuchTransform\""));

        var reg = new ElastixRegistration(tmp.File("bad.txt"), tmp.File("bad.txt"), threads: 1);
        var e = Assert.Throws<UnsupException>(() => reg.Register(tmp.File("img.nii.gz"), tmp.File("img.nii.gz"),
                                                                 tmp.File("labels.nii.gz"), tmp.File("out"), "pair 7"));
        Assert.StartsWith("pair 7: elastix ", e.Message);
        Assert.Contains("elastix.log", e.Message);
        Assert.Contains("NoSuchTransform", e.Message);
    }

    static string Shrink(string parameters)
    {
        parameters = ElastixRegistration.SetParameter(parameters, "NumberOfResolutions", "2");
        parameters = ElastixRegistration.SetParameter(parameters, "ImagePyramidSchedule", "2 2 2  1 1 1");
        parameters = ElastixRegistration.SetParameter(parameters, "MaximumNumberOfIterations", "150");
        return ElastixRegistration.SetParameter(parameters, "NumberOfSpatialSamples", "2048");
    }

    static Tensor Intensity(Tensor labels, float[] perLabel)
    {
        var img = tensor(perLabel)[labels];
        // a little smoothing gives the metric a gradient at the edges
        return nn.functional.avg_pool3d(img[TensorIndex.None, TensorIndex.None], [3, 3, 3], [1, 1, 1], [1, 1, 1])[0, 0];
    }

    static void Write(string path, Tensor data, NiftiHeader header) => NiftiWriter.Write(path, data, header);
}
