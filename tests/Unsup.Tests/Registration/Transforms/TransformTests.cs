using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Transforms;

public class TransformTests
{
    [Fact]
    public void UnitShiftAlongChannelZeroMovesAlongLastAxis()
    {
        using var scope = NewDisposeScope();
        var img = arange(4 * 5 * 6, dtype: ScalarType.Float32).reshape(1, 1, 4, 5, 6);
        var disp = zeros([1, 3, 4, 5, 6]);
        disp[.., 0] = ones([1, 4, 5, 6]);             // +1 voxel along W
        var moved = SpatialTransformer.Warp(img, disp);
        Assert.True(moved[.., .., .., .., ..5].allclose(img[.., .., .., .., 1..], atol: 1e-4));
        Assert.Equal(0f, moved[.., .., .., .., 5].abs().max().item<float>());   // zeros outside

        // one field, a batch of images
        var batch = SpatialTransformer.Warp(cat([img, img * 2], 0), disp);
        Assert.True(batch[1].allclose(moved[0] * 2, atol: 1e-4));

        var dispD = zeros([1, 3, 4, 5, 6]);
        dispD[.., 2] = ones([1, 4, 5, 6]);            // +1 voxel along D
        var movedD = SpatialTransformer.Warp(img, dispD);
        Assert.True(movedD[.., .., ..3].allclose(img[.., .., 1..], atol: 1e-4));
    }

    [Fact]
    public void ZeroVelocityGivesIdentityMapWithUnitJacobian()
    {
        using var scope = NewDisposeScope();
        var v = zeros([2, 3, 16, 16, 16]);
        var u = DiffeomorphicTransform.Integrate(v);
        Assert.Equal(0f, u.abs().max().item<float>());
        var det = JacobianDeterminant.Compute(u);
        Assert.Equal(new long[] { 2, 15, 15, 15 }, det.shape);
        Assert.True(det.allclose(ones_like(det)));
        var img = rand([2, 1, 16, 16, 16]);
        Assert.True(SpatialTransformer.Warp(img, u).allclose(img, atol: 1e-6));
    }

    [Fact]
    public void SmoothVelocityComposedWithItsNegationIsIdentity()
    {
        using var scope = NewDisposeScope();
        var v = SmoothVelocity(32, amplitude: 3.0);
        var phi = DiffeomorphicTransform.Integrate(v);
        var phiInv = DiffeomorphicTransform.Integrate(-v);
        Assert.True(phi.abs().max().item<float>() > 1.5, "the test field should move voxels");
        var a = CompositionTransform.Compose(phi, phiInv);
        var b = CompositionTransform.Compose(phiInv, phi);
        // interior only: near the border the composition samples outside (zeros padding)
        var inner = (TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(6, -6), TensorIndex.Slice(6, -6), TensorIndex.Slice(6, -6));
        float errA = a[inner.Item1, inner.Item2, inner.Item3, inner.Item4, inner.Item5].abs().max().item<float>();
        float errB = b[inner.Item1, inner.Item2, inner.Item3, inner.Item4, inner.Item5].abs().max().item<float>();
        float meanA = a[inner.Item1, inner.Item2, inner.Item3, inner.Item4, inner.Item5].abs().mean().item<float>();
        // linear interpolation inside 2×7 squarings limits exactness; the deviation stays tiny next to the ~3 voxel motion
        Assert.True(errA < 0.1 && errB < 0.1 && meanA < 0.01, $"φ∘φ⁻¹ deviates by {errA} (mean {meanA}), φ⁻¹∘φ by {errB} voxels");
        // and the diffeomorphism does not fold
        Assert.Equal(0.0, DeformationMetrics.PercentNonPositiveJacobian(phi)[0]);
    }

    [Fact]
    public void CompositionOrderIsSecondArgumentFirst()
    {
        // f1 = constant shift along W, f2 = a field varying along W: Compose(f1, f2)(x) = f2(x) + f1(x + f2(x)).
        using var scope = NewDisposeScope();
        var w = arange(16, dtype: ScalarType.Float32).reshape(1, 1, 1, 16).expand(1, 1, 16, 16).contiguous();
        var f1 = cat([w * 0.1f, zeros([1, 1, 16, 16])], 1);      // 2D: channel 0 along W
        var f2 = cat([full(1, 1, 16, 16, 2f), zeros([1, 1, 16, 16])], 1);
        var c = CompositionTransform.Compose(f1, f2);
        // at w = 5: f2 = 2, f1(7) = 0.7 → 2.7 (the other order would give 0.5 + 2 = 2.5)
        Assert.Equal(2.7f, c[0, 0, 3, 5].item<float>(), 4);
    }

    [Fact]
    public void JacobianOfAffineMapIsItsDeterminant()
    {
        using var scope = NewDisposeScope();
        // A acts on (d, h, w) array coordinates
        double[,] A = { { 1.1, 0.2, 0.0 }, { 0.1, 0.9, 0.05 }, { 0.0, 0.1, 1.2 } };
        double detA = A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]) - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0]) + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]);
        var grids = meshgrid([arange(8, dtype: ScalarType.Float64), arange(9, dtype: ScalarType.Float64), arange(10, dtype: ScalarType.Float64)], indexing: "ij");
        var comps = new Tensor[3];
        for (int r = 0; r < 3; r++)
            comps[r] = A[r, 0] * grids[0] + A[r, 1] * grids[1] + A[r, 2] * grids[2] + 0.5 - grids[r];
        // channel order: 0 = w, 1 = h, 2 = d
        var disp = stack([comps[2], comps[1], comps[0]], 0).unsqueeze(0);
        var det = JacobianDeterminant.Compute(disp);
        Assert.True(det.allclose(full_like(det, detA), atol: 1e-9), $"det J {det.mean().item<double>()} vs det A {detA}");

        double[,] B = { { 0.8, 0.3 }, { -0.2, 1.4 } };
        var g2 = meshgrid([arange(6, dtype: ScalarType.Float64), arange(7, dtype: ScalarType.Float64)], indexing: "ij");
        var uh = B[0, 0] * g2[0] + B[0, 1] * g2[1] - g2[0];
        var uw = B[1, 0] * g2[0] + B[1, 1] * g2[1] - g2[1];
        var det2 = JacobianDeterminant.Compute(stack([uw, uh], 0).unsqueeze(0));
        Assert.True(det2.allclose(full_like(det2, B[0, 0] * B[1, 1] - B[0, 1] * B[1, 0]), atol: 1e-9));
    }

    [Fact]
    public void NearestWarpOfLabelsCreatesNoNewValues()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var ids = tensor(new long[] { 0, 3, 7, 42, 1024 });
        var labels = ids[randint(0, 5, [1, 1, 12, 14, 16])];
        var disp = randn([1, 3, 12, 14, 16]) * 2.5f;
        var warped = SpatialTransformer.Warp(labels, disp, Interpolation.Nearest);
        Assert.Equal(ScalarType.Int64, warped.dtype);
        var seen = warped.unique().Item1.data<long>().ToArray();
        Assert.All(seen, v => Assert.Contains(v, new long[] { 0, 3, 7, 42, 1024 }));
        // whereas linear interpolation of the same map does mix values
        var mixed = SpatialTransformer.Warp(labels.to(ScalarType.Float32), disp, Interpolation.Linear);
        Assert.True(mixed.unique().Item1.numel() > 5);
    }

    /// <summary>A smooth velocity in voxels: a few Gaussian bumps per component.</summary>
    [Fact]
    public void CpuKernelsAgreeWithGridSample()
    {
        // Without autograd, integration and composition run FieldCompositionKernel; in float64 they take libtorch's
        // grid_sample. A field of several voxels on a non-cubic grid whose last size is not a multiple
        // of 8 (vector chunks and scalar rest), sampling outside the volume near its faces (the zero padding).
        using var scope = NewDisposeScope();
        manual_seed(3);
        var v = nn.functional.interpolate(randn([2, 3, 3, 4, 5]) * 4, [12, 17, 21], mode: InterpolationMode.Trilinear, align_corners: true);
        // as the network returns it: channels-last in memory
        v = v.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3);
        Tensor fast, fastComposed;
        using (no_grad())
        {
            fast = DiffeomorphicTransform.Integrate(v);
            fastComposed = CompositionTransform.Compose(fast, -v.flip(0));
        }
        var vg = v.to(ScalarType.Float64);
        var reference = DiffeomorphicTransform.Integrate(vg).to(ScalarType.Float32);
        var referenceComposed = CompositionTransform.Compose(DiffeomorphicTransform.Integrate(vg), -vg.flip(0)).to(ScalarType.Float32);
        Assert.True(fast.abs().max().item<float>() > 3, "the field should reach outside the volume");
        float diff = (fast - reference).abs().max().item<float>();
        float diffComposed = (fastComposed - referenceComposed).abs().max().item<float>();
        Assert.True(diff < 1e-4 && diffComposed < 1e-4, $"kernel vs grid_sample: integration {diff}, composition {diffComposed} voxels");
    }

    [Fact]
    public void WarpGradientsOnTheCpuKernelEqualGridSamplesAutograd()
    {
        // float32 on the CPU with autograd runs WarpFunction (WarpKernel + WarpBackwardKernel); float64 takes
        // grid_sample. Both gradients (image and displacement), an addend, a displacement shared by a batch, points
        // outside the volume, and the squaring step u + u∘(id + u) where one tensor is all three inputs.
        using var scope = NewDisposeScope();
        manual_seed(11);
        var image = rand([2, 2, 7, 8, 11]);
        var disp = randn([2, 3, 7, 8, 11]) * 1.5;
        var shared = randn([1, 3, 7, 8, 11]) * 1.5;
        var addend = rand([2, 2, 7, 8, 11]);
        (Tensor Out, Tensor[] Grads) Run(ScalarType t, Func<Tensor[], Tensor> warp, params Tensor[] inputs)
        {
            var xs = inputs.Select(x => x.to(t).detach().requires_grad_()).ToArray();
            var output = warp(xs);
            using var g = new Generator(5);
            var weights = randn(output.shape, generator: g).to(t);   // the same for both precisions
            var grads = autograd.grad([(output * weights).sum()], xs);
            return (output.to(ScalarType.Float32), grads.Select(g => g.to(ScalarType.Float32)).ToArray());
        }
        void Same(Func<Tensor[], Tensor> warp, params Tensor[] inputs)
        {
            var (fast, fastGrads) = Run(ScalarType.Float32, warp, inputs);
            var (reference, referenceGrads) = Run(ScalarType.Float64, warp, inputs);
            Assert.True(fast.allclose(reference, atol: 1e-5));
            for (int k = 0; k < inputs.Length; k++)
                Assert.True(fastGrads[k].allclose(referenceGrads[k], rtol: 1e-4, atol: 1e-4), $"input {k}: {(fastGrads[k] - referenceGrads[k]).abs().max().item<float>()}");
        }
        Same(x => SpatialTransformer.Warp(x[0], x[1]), image, disp);
        Same(x => SpatialTransformer.WarpAndAdd(x[0], x[1], x[2]), image, disp, addend);
        Same(x => SpatialTransformer.Warp(x[0], x[1]), image, shared);
        Same(x => SpatialTransformer.WarpAndAdd(x[0], x[0], x[0]), disp[..1, ..]);

        // a deeper volume with displacements of a few voxels: the image gradient goes into one buffer, slab by slab
        var deepImage = rand([2, 2, 40, 8, 11]);
        var deepDisp = randn([2, 3, 40, 8, 11]).tanh() * 2.9;   // below 3 voxels, never on a voxel boundary
        Assert.True(WarpBackwardKernel.SlabCount(deepDisp, 40, 2) >= 4);
        Assert.Equal(0, WarpBackwardKernel.SlabCount(disp, 7, 2));   // the shallow case above took the per-worker buffers
        Same(x => SpatialTransformer.Warp(x[0], x[1]), deepImage, deepDisp);
        Same(x => SpatialTransformer.Warp(x[0], x[1]), deepImage, deepDisp[..1, ..]);
        Same(x => SpatialTransformer.WarpAndAdd(x[0], x[0], x[0]), deepDisp[..1, ..]);
    }

    internal static Tensor SmoothVelocity(int n, double amplitude)
    {
        var g = meshgrid([arange(n, dtype: ScalarType.Float32), arange(n, dtype: ScalarType.Float32), arange(n, dtype: ScalarType.Float32)], indexing: "ij");
        Tensor Bump(double cd, double ch, double cw, double s) =>
            exp(-((g[0] - cd).square() + (g[1] - ch).square() + (g[2] - cw).square()) / (2 * s * s));
        var c0 = amplitude * (Bump(n * 0.5, n * 0.4, n * 0.5, n / 6.0) - 0.6 * Bump(n * 0.3, n * 0.6, n * 0.6, n / 8.0));
        var c1 = amplitude * Bump(n * 0.6, n * 0.5, n * 0.4, n / 7.0);
        var c2 = -amplitude * Bump(n * 0.45, n * 0.55, n * 0.5, n / 6.0);
        return stack([c0, c1, c2], 0).unsqueeze(0);
    }
}
