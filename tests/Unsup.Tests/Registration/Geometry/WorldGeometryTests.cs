using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Affine;
using Unsup.Registration.Geometry;
using Unsup.Registration.IO;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Geometry;

/// <summary>World geometry of registration inputs: the network's space, resampling between grids, affine registration, ITK files.</summary>
public class WorldGeometryTests
{
    /// <summary>An asymmetric "head" f(world) of four balls with soft (about 1 mm) edges, so rotation, scale and shift are all visible to a local metric.</summary>
    internal static Tensor Phantom(Tensor worldPoints)
    {
        using var scope = NewDisposeScope();
        (double[] c, double s, double w)[] blobs = [([0, 0, 0], 26, 0.5), ([14, 6, -4], 8, 0.8), ([-10, -8, 10], 7, 0.6), ([3, 15, 12], 6, 0.9)];
        var f = zeros(worldPoints.shape[..^1]);
        foreach (var (c, s, w) in blobs)
        {
            var d = worldPoints - tensor(c.Select(v => (float)v).ToArray());
            f = f + w * ((s - d.square().sum(-1).sqrt()) / 1.0).sigmoid();
        }
        return f.MoveToOuterDisposeScope();
    }

    internal static double[,] Ras(double spacing, long[] shape, double[] centre)
    {
        var a = Matrix4.Identity();
        for (int i = 0; i < 3; i++) { a[i, i] = spacing; a[i, 3] = centre[i] - spacing * (shape[i] - 1) / 2.0; }
        return a;
    }

    /// <summary>Rotation of <paramref name="degrees"/> about z, isotropic scale and translation (world → world).</summary>
    internal static double[,] Motion(double degrees, double scale, double tx, double ty, double tz)
    {
        double t = degrees * Math.PI / 180;
        var m = Matrix4.Identity();
        m[0, 0] = scale * Math.Cos(t); m[0, 1] = -scale * Math.Sin(t); m[1, 0] = scale * Math.Sin(t); m[1, 1] = scale * Math.Cos(t); m[2, 2] = scale;
        m[0, 3] = tx; m[1, 3] = ty; m[2, 3] = tz;
        return m;
    }

    [Fact]
    public void NetworkSpaceCentredOnTheOasisImageIsTheOasisImagesGrid()
    {
        var h = VolumeFile.ReadHeader(TestData.Shared("brain/oasis_pair_A.nii.gz"));
        var oasis = NiftiAffine.Best(h);
        var grid = new VolumeGeometry([160, 192, 224], oasis);
        var net = NetworkSpace.Oasis.CentredAt(grid.Centre);
        Assert.True(Matrix4.MaxAbsDifference(net.Affine, oasis) < 1e-6, Matrix4.Format(net.Affine));
        Assert.Equal([80L, 96, 112], NetworkSpace.AtSpacing(2).Shape);
    }

    [Fact]
    public void ResamplingOntoAFlippedPermutedGridOfTheSameVoxelCentresIsExact()
    {
        using var scope = NewDisposeScope();
        var v = rand(6, 7, 8);
        var lia = VolumeGeometry.Lia([6, 7, 8], 1.5, [3, -4, 10]);
        // the same voxel centres as RAS: i' = 5 - i, j' = k, k' = 6 - j
        var p = Matrix4.Identity();
        p[0, 0] = -1; p[0, 3] = 5; p[1, 1] = 0; p[1, 2] = -1; p[1, 3] = 6; p[2, 2] = 0; p[2, 1] = 1;
        var ras = new VolumeGeometry([6, 8, 7], Matrix4.Multiply(lia.Affine, p));
        Assert.Equal(1.5, ras.Affine[0, 0], 9); Assert.Equal(1.5, ras.Affine[1, 1], 9); Assert.Equal(1.5, ras.Affine[2, 2], 9);
        var vox = WorldResampler.Transform(WorldResampler.WorldPoints(ras), Matrix4.Inverse(lia.Affine));
        var outp = WorldResampler.Sample(v, vox);
        var expected = v.flip(0).permute(0, 2, 1).flip(2);
        Assert.True(outp.allclose(expected, atol: 1e-5), $"max diff {(outp - expected).abs().max().item<float>()}");
        // integer label maps keep their type and values
        var labels = (v * 10).to(ScalarType.Int64);
        Assert.True((WorldResampler.Sample(labels, vox) == labels.flip(0).permute(0, 2, 1).flip(2)).all().item<bool>());
    }

    [Theory]
    [InlineData(AffineMetric.LocalNcc)]
    [InlineData(AffineMetric.MutualInformation)]
    public void AffineRegistrationRecoversAKnownMotionBetweenAnLiaAndARasGrid(AffineMetric metric)
    {
        using var scope = NewDisposeScope();
        var fixedGrid = VolumeGeometry.Lia([40, 44, 40], 2.0, [1, 2, -1]);
        var movingGrid = new VolumeGeometry([60, 56, 58], Ras(1.5, [60, 56, 58], [4, -3, 6]));
        var truth = Motion(8, 1.06, 4, -3, 5); // fixed world → moving world: the moving head is the fixed one moved by it
        var fixedImg = Phantom(WorldResampler.WorldPoints(fixedGrid));
        var movingImg = Phantom(WorldResampler.Transform(WorldResampler.WorldPoints(movingGrid), Matrix4.Inverse(truth)));
        // mutual information must also cope with another contrast: the blobs darker than the head around them, not brighter
        if (metric == AffineMetric.MutualInformation) movingImg = 2 * movingImg * (1.5 - movingImg);
        var options = new AffineOptions { Metric = metric };
        var r = AffineRegistration.Register(fixedImg, fixedGrid, movingImg, movingGrid, options);
        // compare where it matters: the mapped positions of points across the phantom
        double worst = 0;
        foreach (var pt in new[] { new double[] { 0, 0, 0 }, [20, 0, 0], [0, 20, 0], [0, 0, 20], [-15, 10, -10] })
        {
            var a = Matrix4.Apply(r.FixedToMoving, pt); var b = Matrix4.Apply(truth, pt);
            worst = Math.Max(worst, Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum()));
        }
        Assert.True(worst < 1.0, $"{metric}: affine off by {worst:F2} mm: {Matrix4.Format(r.FixedToMoving)}");
        var com = AffineRegistration.Register(fixedImg, fixedGrid, movingImg, movingGrid, options with { CentreOfMassOnly = true });
        Assert.True(Matrix4.MaxAbsDifference(com.FixedToMoving, truth) > 0.1); // the optimisation did the work, not the start
        // the random samples of mutual information are seeded: the same inputs give the same transform
        if (metric == AffineMetric.MutualInformation)
            Assert.Equal(0, Matrix4.MaxAbsDifference(AffineRegistration.Register(fixedImg, fixedGrid, movingImg, movingGrid, options).FixedToMoving, r.FixedToMoving));
    }

    [Fact]
    public void AffineRegistrationStartsFromTheHeadsExtentsWhenTheirSizesDiffer()
    {
        using var scope = NewDisposeScope();
        var grid = new VolumeGeometry([48, 48, 48], Ras(2.0, [48, 48, 48], [0, 0, 0]));
        var truth = Motion(5, 1.0, 3, -2, 4);
        truth[0, 0] *= 1.4; truth[1, 0] *= 1.4; truth[2, 2] *= 0.8;   // a head 40 % longer along x and 20 % shorter along z
        var fixedImg = Phantom(WorldResampler.WorldPoints(grid));
        var movingImg = Phantom(WorldResampler.Transform(WorldResampler.WorldPoints(grid), Matrix4.Inverse(truth)));
        double Error(AffineResult r) => new[] { new double[] { 0, 0, 0 }, [20, 0, 0], [0, 20, 0], [0, 0, 20], [-15, 10, -10] }
            .Max(pt => Math.Sqrt(Matrix4.Apply(r.FixedToMoving, pt).Zip(Matrix4.Apply(truth, pt), (x, y) => (x - y) * (x - y)).Sum()));
        var r = AffineRegistration.Register(fixedImg, grid, movingImg, grid);
        Assert.True(Error(r) < 1.0, $"affine off by {Error(r):F2} mm");
        // the start: log of the size ratio along each axis (the rotation of 5° barely changes the extents)
        var start = AffineRegistration.ExtentLogScales((fixedImg, grid), (movingImg, grid), new AffineOptions().ForegroundThreshold);
        Assert.Equal(Math.Log(1.4), start[0], 1);
        Assert.Equal(0.0, start[1], 1);
        Assert.Equal(Math.Log(0.8), start[2], 1);
    }

    [Fact]
    public void ItkAffineFileUsesLpsAndRoundTrips()
    {
        using var dir = TestData.Temp();
        var m = Motion(12, 0.95, 3, -7, 11);
        ItkTransformFiles.WriteAffine(dir.File("a.txt"), m, [10, 20, 30]);
        var text = File.ReadAllLines(dir.File("a.txt"));
        Assert.Equal("#Insight Transform File V1.0", text[0]);
        Assert.Contains("Transform: AffineTransform_double_3_3", text);
        Assert.Equal("FixedParameters: -10 -20 30", text.Single(l => l.StartsWith("FixedParameters")));
        var back = ItkTransformFiles.ReadAffine(dir.File("a.txt"));
        Assert.True(Matrix4.MaxAbsDifference(back, m) < 1e-9, Matrix4.Format(back));
        // a pure RAS shift (1, 2, 3) is (-1, -2, 3) in LPS
        var (_, t, _) = ItkTransformFiles.LpsParameters(Matrix4.Translation(1, 2, 3), [0, 0, 0]);
        Assert.Equal([-1.0, -2, 3], t);
    }

    [Fact]
    public void AffineResamplingEqualsGridSampleAtTheMappedPointsForImagesAndLabels()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(7);
        var image = rand([2, 11, 12, 13], generator: g);                       // two channels
        var labels = randint(0, 5, [11, 12, 13], generator: g).to(ScalarType.Int32);
        // reaches outside the volume on part of the output grid (zeros there); entries without short decimals, so few
        // points fall on a grid line or a rounding tie
        var map = new double[,] { { 0.9137, 0.1029, -0.0513, 1.3171 }, { -0.0797, 1.1043, 0.0219, -0.7133 }, { 0.0311, 0.0589, 0.9521, 2.1061 }, { 0, 0, 0, 1 } };
        long[] outShape = [9, 14, 12];
        var points = WorldResampler.Transform(WorldResampler.VoxelIndices(outShape), map);

        var fast = WorldResampler.SampleAffine(image, map, outShape);
        Assert.Equal(new long[] { 2, 9, 14, 12 }, fast.shape);
        Assert.True(fast.allclose(WorldResampler.Sample(image, points), atol: 1e-5));
        // nearest: equal except where a point lies on a rounding tie (x.5 within float32 rounding: the two codes compute
        // the point in different precision), which this map has once
        var atTie = ((points - points.floor() - 0.5).abs() < 1e-4).any(-1);
        var nearest = WorldResampler.SampleAffine(image[0], map, outShape, Interpolation.Nearest);
        Assert.True((nearest.ne(WorldResampler.Sample(image[0], points, Interpolation.Nearest)) & ~atTie).sum().item<long>() == 0);
        var fastLabels = WorldResampler.SampleAffine(labels, map, outShape);
        Assert.Equal(ScalarType.Int32, fastLabels.dtype);
        Assert.True((fastLabels.ne(WorldResampler.Sample(labels, points)) & ~atTie).sum().item<long>() == 0);
        Assert.True(atTie.sum().item<long>() < 5);
    }
}
