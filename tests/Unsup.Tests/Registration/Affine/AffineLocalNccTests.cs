using Unsup.Registration.Affine;
using Unsup.Registration.Geometry;
using Unsup.Registration.Losses;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Affine;

public class AffineLocalNccTests
{
    static Tensor Smooth(long[] shape, long seed)
    {
        using var g = new Generator((ulong)seed);
        var x = rand([1, 1, .. shape], generator: g);
        return nn.functional.avg_pool3d(x, [3, 3, 3], [1, 1, 1], [1, 1, 1])[0, 0].contiguous();
    }

    [Fact]
    public void Box_sums_equal_a_convolution_with_ones()
    {
        using var scope = NewDisposeScope();
        var x = rand([2, 7, 9, 11]);
        foreach (int w in new[] { 1, 3, 5 })
        {
            var expected = nn.functional.conv3d(x.unsqueeze(1), ones([1, 1, w, w, w]), padding: [w / 2, w / 2, w / 2]).squeeze(1);
            Assert.True(BoxSumKernel.Sum(x, w).allclose(expected, rtol: 1e-5, atol: 1e-5), $"window {w}");
        }
    }

    [Fact]
    public void Sampling_and_its_gradient_match_grid_sample_and_autograd()
    {
        using var scope = NewDisposeScope();
        var moving = Smooth([12, 13, 14], 1);
        // a map that reaches outside the volume on some voxels (zero padding and partial corners)
        // entries with no short decimal expansion: on a map like 0.9 i + 0.1 j + 1.3 many voxels land exactly on grid
        // lines, where trilinear interpolation has a kink and the two codes' roundings pick different sides
        var m = tensor(new[] { 0.9137, 0.1029, -0.0513, 1.3171, -0.0797, 1.1043, 0.0219, -0.7133, 0.0311, 0.0589, 0.9521, 2.1061 }, dtype: ScalarType.Float64).reshape(3, 4).requires_grad_();
        long[] offset = [1, 2, 0], shape = [10, 11, 14];
        var (values, gradient) = AffineSamplingKernel.Sample(moving, m.detach().data<double>().ToArray(), offset, shape);

        var q = WorldResampler.VoxelIndices(shape).to(ScalarType.Float64) + tensor(offset.Select(v => (double)v).ToArray(), dtype: ScalarType.Float64);
        var p = q.matmul(m[.., ..3].t()) + m[.., 3];
        var expected = WorldResampler.Sample(moving.to(ScalarType.Float64), p);
        Assert.True(values.to(ScalarType.Float64).allclose(expected, atol: 1e-5));
        // d(Σ w·sample)/dm through autograd equals Σ w·∇sample [q; 1]ᵀ from the kernel's gradient
        var weights = rand(shape, dtype: ScalarType.Float64);
        (expected * weights).sum().backward();
        var qh = cat([q, ones([.. shape, 1], dtype: ScalarType.Float64)], -1).reshape(-1, 4);
        var fromKernel = (gradient.to(ScalarType.Float64) * weights).reshape(3, -1).matmul(qh);
        Assert.True(fromKernel.allclose(m.grad!, rtol: 1e-4, atol: 1e-4), $"{fromKernel.data<double>().ToArray().Select(v => v.ToString("G4")).Aggregate((a, b) => a + " " + b)} vs {m.grad!.data<double>().ToArray().Select(v => v.ToString("G4")).Aggregate((a, b) => a + " " + b)}");
    }

    [Fact]
    public void Loss_and_gradient_match_autograd_through_LocalNcc()
    {
        using var scope = NewDisposeScope();
        var moving = Smooth([14, 15, 16], 2);
        var fixedFull = Smooth([14, 15, 16], 3);
        long[] offset = [2, 1, 3], shape = [9, 12, 10];
        var fixedBox = fixedFull[2..11, 1..13, 3..13].contiguous();
        var m = tensor(new[] { 1.0527, 0.0413, -0.0207, -0.6149, -0.0311, 0.9683, 0.0502, 0.8059, 0.0109, -0.0391, 1.0236, -0.4117 }, dtype: ScalarType.Float64).reshape(3, 4).requires_grad_();

        using var objective = new AffineLocalNcc(fixedBox, offset, moving, 5);
        var (loss, grad) = objective.Evaluate(m.detach().data<double>().ToArray());

        var q = WorldResampler.VoxelIndices(shape).to(ScalarType.Float64) + tensor(offset.Select(v => (double)v).ToArray(), dtype: ScalarType.Float64);
        var warped = WorldResampler.Sample(moving.to(ScalarType.Float64), q.matmul(m[.., ..3].t()) + m[.., 3]);
        using var ncc = new LocalNcc(5);
        var expected = ncc.forward(fixedBox.to(ScalarType.Float64).reshape([1, 1, .. shape]), warped.reshape([1, 1, .. shape]));
        expected.backward();
        Assert.Equal(expected.item<double>(), loss, 4);
        var g = tensor(grad, dtype: ScalarType.Float64).reshape(3, 4);
        Assert.True(g.allclose(m.grad!, rtol: 1e-3, atol: 1e-5), $"{g.data<double>().ToArray().Select(v => v.ToString("G4")).Aggregate((a, b) => a + " " + b)} vs {m.grad!.data<double>().ToArray().Select(v => v.ToString("G4")).Aggregate((a, b) => a + " " + b)}");
    }
}
