using TorchSharp;
using Unsup.IO.Inspect;
using Unsup.IO.Nifti;
using Unsup.IO.Numpy;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.IO;

public class InspectSummaryTests
{
    static string Value(FileSummary s, string key) => s.Lines.Single(l => l.Key == key).Value;

    [Fact]
    public void NiftiSummary_OfOasisVolume_GivesShapeDtypeSpacingAffineAndRange()
    {
        var s = NiftiSummary.Describe(TestData.Shared("brain/oasis_pair_A.nii.gz"));
        Assert.Equal("NIfTI-1 image", s.Kind);
        Assert.Equal("160 x 192 x 224", Value(s, "shape"));
        Assert.Equal("float32", Value(s, "dtype"));
        Assert.Equal("1 x 1 x 1", Value(s, "voxel size (mm)"));
        Assert.Equal(new[] { "-1", "0", "0", "80" }, Value(s, "affine row 1").Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(new[] { "0", "-1", "0", "96" }, Value(s, "affine row 3").Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("none", Value(s, "intent"));
        Assert.Equal("none", Value(s, "scl_slope / scl_inter"));
        Assert.StartsWith("min ", Value(s, "range"));
        Assert.DoesNotContain(s.Lines, l => l.Key == "labels"); // continuous intensities
        var keys = s.Lines.Select(l => l.Key).ToList();
        Assert.True(keys.IndexOf("shape") < keys.IndexOf("dtype") && keys.IndexOf("dtype") < keys.IndexOf("range"));
    }

    [Fact]
    public void NiftiSummary_OfLabelMap_ListsTheLabels()
    {
        var s = NiftiSummary.Describe(TestData.Shared("synthseg/training_seg_01.nii.gz"));
        var labels = Value(s, "labels");
        Assert.StartsWith("54 distinct: 0, 2, 3, 4, 5, 7, 8, 10,", labels);
        Assert.EndsWith(", ...", labels);
        Assert.Equal("min 0, max 530, mean 89.0578", Value(s, "range")); // nibabel: 0, 530, 89.05779
    }

    [Fact]
    public void NiftiSummary_ShowsIntentAndScaling()
    {
        using var tmp = TestData.Temp();
        using var img = NiftiImage.Create(torch.arange(24, ScalarType.Int16).reshape(4, 3, 2), null, "", NiftiIntent.Label);
        img.Header.SclSlope = 2;
        img.Header.SclInter = 1;
        NiftiWriter.Write(tmp.File("l.nii"), img);
        var s = NiftiSummary.Describe(tmp.File("l.nii"));
        Assert.Equal("label (1002)", Value(s, "intent"));
        Assert.Equal("2 / 1 (applied)", Value(s, "scl_slope / scl_inter"));
        Assert.Equal("int16", Value(s, "dtype"));
        Assert.Equal("min 1, max 47, mean 24", Value(s, "range"));
        Assert.StartsWith("24 distinct: 1, 3, 5,", Value(s, "labels"));
    }

    [Fact]
    public void NumpySummary_OfVoxelmorphScan_DescribesEachArray()
    {
        var s = NumpySummary.Describe(TestData.Shared("brain/vxm_test_scan.npz"));
        Assert.Equal("NumPy .npz archive", s.Kind);
        Assert.Equal("vol, seg", Value(s, "arrays"));
        Assert.Equal("(160, 192, 224)", Value(s, "vol shape"));
        Assert.Equal("<f8 (float64)", Value(s, "vol dtype"));
        Assert.Equal("C", Value(s, "vol order"));
        Assert.Equal("min 0, max 0.976471, mean 0.0796296", Value(s, "vol range"));
        Assert.StartsWith("46 distinct: 0, 2, 3, 4,", Value(s, "seg labels"));
    }

    [Fact]
    public void NumpySummary_OfNpy_HasNoKeyPrefix()
    {
        var s = NumpySummary.Describe(TestData.Shared("synthseg/generation_labels.npy"));
        Assert.Equal("NumPy .npy array", s.Kind);
        Assert.Equal("(54,)", Value(s, "shape"));
        Assert.Equal("<i4 (int32)", Value(s, "dtype"));
        Assert.StartsWith("54 distinct: 0, 2, 3, 4,", Value(s, "labels")); // sorted
    }

    [Fact]
    public void ValueStats_ReportsNonFiniteAndManyValuedIntegers()
    {
        using var t = torch.tensor(new float[] { 1, float.NaN, 3, float.PositiveInfinity });
        var lines = ValueStats.Describe(t);
        Assert.Contains(("non-finite", "2 values (NaN/Inf), excluded from the range"), lines);
        Assert.Contains(("range", "min 1, max 3, mean 2"), lines);

        using var many = torch.arange(5000, ScalarType.Int32);
        Assert.Contains(("labels", "integer-valued, 5000 distinct values (> 1000: not a label map)"), ValueStats.Describe(many));
    }

    [Fact]
    public void Summaries_ReportBadFilesAsUnsupExceptions()
    {
        using var tmp = TestData.Temp();
        File.WriteAllText(tmp.File("x.npy"), "nope");
        Assert.Contains("not a NumPy .npy file", Assert.Throws<UnsupException>(() => NumpySummary.Describe(tmp.File("x.npy"))).Message);
        Assert.Contains("file not found", Assert.Throws<UnsupException>(() => NiftiSummary.Describe(tmp.File("y.nii"))).Message);
        Assert.Contains("file not found", Assert.Throws<UnsupException>(() => NumpySummary.Describe(tmp.File("y.npz"))).Message);
    }
}

public class FileInspectorTests
{
    [Theory]
    [InlineData("brain/oasis_slice_A_2d.nii.gz", "NIfTI-1 image")]
    [InlineData("brain/vxm_labels.npz", "NumPy .npz archive")]
    [InlineData("synthseg/prior_stds_t1.npy", "NumPy .npy array")]
    public void Dispatch_ByContent(string file, string kind)
        => Assert.Equal(kind, FileInspector.Describe(TestData.Shared(file)).Kind);

    [Fact]
    public void UncompressedNifti_AndUnknownFiles()
    {
        using var tmp = TestData.Temp();
        using (var img = NiftiImage.Create(torch.ones(3, 3, 3)))
            NiftiWriter.Write(tmp.File("a.nii"), img);
        Assert.Equal("NIfTI-1 image", FileInspector.Describe(tmp.File("a.nii")).Kind);
        File.WriteAllText(tmp.File("b.txt"), "hello");
        Assert.Contains("unrecognised file type", Assert.Throws<UnsupException>(() => FileInspector.Describe(tmp.File("b.txt"))).Message);
    }

    [Fact]
    public void MgzAndNifti2_AreDescribed()
    {
        using var tmp = TestData.Temp();
        using (var img = NiftiImage.Create(torch.arange(24, ScalarType.Int16).reshape(4, 3, 2), Unsup.Tests.Core.IO.FormatTestUtil.Oblique()))
        {
            Unsup.IO.VolumeFile.Write(tmp.File("a.mgz"), img);
            Unsup.IO.VolumeFile.Write(tmp.File("a.nii"), img, Unsup.IO.VolumeFormat.Nifti2);
        }
        var mgz = FileInspector.Describe(tmp.File("a.mgz"));
        Assert.Equal("MGH volume", mgz.Kind);
        Assert.Equal("FreeSurfer MGH, gzip-compressed (.mgz)", mgz.Lines.First(l => l.Key == "format").Value);
        Assert.Equal("short (int16)", mgz.Lines.First(l => l.Key == "dtype").Value);
        Assert.Equal("4 x 3 x 2", mgz.Lines.First(l => l.Key == "shape").Value);
        Assert.Equal("1.5 x 2 x 0.8", mgz.Lines.First(l => l.Key == "voxel size (mm)").Value);
        var n2 = FileInspector.Describe(tmp.File("a.nii"));
        Assert.Equal("NIfTI-2 image", n2.Kind);
        Assert.Equal("NIfTI-2", n2.Lines.First(l => l.Key == "format").Value);
    }
}
