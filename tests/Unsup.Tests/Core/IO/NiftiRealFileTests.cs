using System.Diagnostics;
using TorchSharp;
using Unsup.IO.Nifti;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.IO;

public class NiftiRealFileTests(ITestOutputHelper output)
{
    [Fact]
    public void OasisVolume_IsFloat32_160x192x224_1mm_WithSformAffine()
    {
        using var img = NiftiReader.Read(TestData.Shared("brain/oasis_pair_A.nii.gz"));
        Assert.Equal(new long[] { 160, 192, 224 }, img.Shape);
        Assert.Equal(ScalarType.Float32, img.Data.dtype);
        Assert.Equal(new double[] { 1, 1, 1 }, img.VoxelSize);
        var a = img.Affine;
        double[,] expected = { { -1, 0, 0, 80 }, { 0, 0, 1, -112 }, { 0, -1, 0, 96 }, { 0, 0, 0, 1 } };
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(expected[i, j], a[i, j], 5);
        Assert.True(img.Data.max().item<float>() > 0);
        // sform and qform agree in this file: the quaternion path must give the same matrix.
        var q = NiftiAffine.Qform(img.Header);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(expected[i, j], q[i, j], 5);
    }

    [Fact]
    public void OasisSlice_Is160x192x1()
    {
        using var img = NiftiReader.Read(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        Assert.Equal(new long[] { 160, 192, 1 }, img.Shape);
        Assert.Equal(-0.5, img.Affine[1, 3], 5);
    }

    [Fact]
    public void SynthSegLabelMap_256Cubed_HasIntegerFreeSurferLabels()
    {
        var sw = Stopwatch.StartNew();
        using var img = NiftiReader.Read(TestData.Shared("synthseg/training_seg_01.nii.gz"));
        output.WriteLine($"read 256^3 in {sw.ElapsedMilliseconds} ms");
        Assert.Equal(new long[] { 256, 256, 256 }, img.Shape);
        Assert.Equal(ScalarType.Float32, img.Data.dtype); // stored as float32 labels in this file
        Assert.True(img.Data.eq(img.Data.round()).all().item<bool>());
        var labels = img.Data.unique().output.to_type(ScalarType.Int32).data<int>().ToArray();
        Assert.Contains(0, labels);
        Assert.Contains(2, labels);   // left cerebral white matter
        Assert.Contains(17, labels);  // left hippocampus
        Assert.All(labels, l => Assert.InRange(l, 0, 2035));
    }
}
