using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Losses;

public class LossTests
{
    [Fact]
    public void NccOfImageWithItselfIsTheMinimum()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var img = rand([1, 1, 20, 22, 24]);
        using var ncc = new LocalNcc(7);
        float self = ncc.forward(img, img).item<float>();
        Assert.Equal(-1.0, self, 3);   // noise has no flat window: every term is var²/(var² + eps) ≈ 1
        var other = rand([1, 1, 20, 22, 24]);
        Assert.True(ncc.forward(img, other).item<float>() > self + 0.5);
        // contrast does not matter to a correlation (an offset would: the zero padding is not offset)
        Assert.Equal(self, ncc.forward(img, img * 3f).item<float>(), 3);
        // a slightly shifted copy scores worse than the image itself
        Assert.True(ncc.forward(img, img.roll(1, 4)).item<float>() > self);
    }

    [Fact]
    public void SeparableBoxFilterEqualsOfficialFullWindowConvolution()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var i = rand([2, 1, 12, 13, 14], dtype: ScalarType.Float64);
        var j = (i + 0.3 * rand([2, 1, 12, 13, 14], dtype: ScalarType.Float64)).sqrt();
        foreach (int w in new[] { 5, 7 })
        {
            using var ncc = new LocalNcc(w);
            double mine = ncc.forward(i, j).item<double>();
            Assert.Equal(OfficialNcc(i, j, w), mine, 10);
        }
        // 2D, window 5
        var i2 = rand([1, 1, 17, 19], dtype: ScalarType.Float64);
        var j2 = i2.square();
        using var ncc2 = new LocalNcc(5);
        Assert.Equal(OfficialNcc(i2, j2, 5), ncc2.forward(i2, j2).item<double>(), 10);
    }

    // the official formula with one full w^nd convolution per statistic
    static double OfficialNcc(Tensor I, Tensor J, int w)
    {
        int nd = (int)I.dim() - 2;
        var kshape = Enumerable.Repeat((long)w, nd).Prepend(1L).Prepend(1L).ToArray();
        var weight = ones(kshape, dtype: I.dtype);
        Tensor Conv(Tensor t) => nd == 3 ? nn.functional.conv3d(t, weight, padding: [w / 2, w / 2, w / 2]) : nn.functional.conv2d(t, weight, padding: [w / 2, w / 2]);
        var iS = Conv(I); var jS = Conv(J); var i2 = Conv(I * I); var j2 = Conv(J * J); var ij = Conv(I * J);
        double n = Math.Pow(w, nd);
        var uI = iS / n; var uJ = jS / n;
        var cross = ij - uJ * iS - uI * jS + uI * uJ * n;
        var iv = i2 - 2 * uI * iS + uI * uI * n;
        var jv = j2 - 2 * uJ * jS + uJ * uJ * n;
        return -(cross * cross / (iv * jv + 1e-5)).mean().item<double>();
    }

    [Fact]
    public void NccOnTheCpuKernelEqualsTheConvolutionPathInValueAndGradient()
    {
        // float32 3D on the CPU filters with BoxSumFunction; float64 takes the depthwise convolutions
        using var scope = NewDisposeScope();
        manual_seed(5);
        var i = rand([2, 1, 12, 14, 10]);
        var j = (0.5 * i + 0.5 * rand([2, 1, 12, 14, 10])).requires_grad_();
        var j64 = j.detach().to(ScalarType.Float64).requires_grad_();
        using var ncc = new LocalNcc(7);
        var fast = ncc.forward(i, j);
        var reference = ncc.forward(i.to(ScalarType.Float64), j64);
        var gFast = autograd.grad([fast], [j])[0];
        var gRef = autograd.grad([reference], [j64])[0];
        Assert.Equal(reference.item<double>(), fast.item<float>(), 4);
        Assert.True(gFast.to(ScalarType.Float64).allclose(gRef, rtol: 1e-3, atol: 1e-7), $"gradients differ by {(gFast.to(ScalarType.Float64) - gRef).abs().max().item<double>()}");
    }

    [Fact]
    public void RegularisersHaveKnownValues()
    {
        using var scope = NewDisposeScope();
        // a linear ramp along W with slope 2 in channel 0: squared difference 4 along W only
        var ramp = (arange(8, dtype: ScalarType.Float32) * 2).reshape(1, 1, 1, 1, 8).expand(1, 3, 8, 8, 8).contiguous();
        ramp[.., 1..] = zeros([1, 2, 8, 8, 8]);
        // mean over the W differences: channel 0 contributes 4, channels 1, 2 zero → 4/3, then /3 axes
        Assert.Equal(4.0 / 3 / 3, RegularizationLosses.Smoothness(ramp).item<float>(), 5);

        var f1 = full(new long[] { 1, 3, 4, 4, 4 }, 2f);
        var f2 = full(new long[] { 1, 3, 4, 4, 4 }, -0.5f);
        Assert.Equal(1.5, RegularizationLosses.Magnitude(f1, f2).item<float>(), 5);

        // no folding → zero penalty; a reflection along W (u_w = -2w) → det -1 → penalty 1
        Assert.Equal(0f, RegularizationLosses.NegativeJacobian(zeros([1, 3, 6, 6, 6])).item<float>());
        var w = arange(6, dtype: ScalarType.Float32).reshape(1, 1, 6).expand(6, 6, 6);
        var flip = stack([-2 * w, zeros([6, 6, 6]), zeros([6, 6, 6])], 0).unsqueeze(0);
        Assert.Equal(1f, RegularizationLosses.NegativeJacobian(flip).item<float>(), 5);
    }

    [Fact]
    public void SymNetLossGivesFiniteGradientsAndDefaultWeights()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var model = new SymNet(startChannels: 3);
        var x = rand([1, 1, 16, 16, 32]);
        var y = x.roll(2, 3) * 0.9f + 0.05f * rand([1, 1, 16, 16, 32]);
        using var loss = new SymNetLoss();
        Assert.Equal((100.0, 3.0, 0.1, 7), (loss.JacobianWeight, loss.SmoothnessWeight, loss.MagnitudeWeight, loss.Window));

        using var fields = SymNetPipeline.Forward(model, x, y);
        using var terms = loss.Compute(x, y, fields);
        Assert.True(float.IsFinite(terms.Total.item<float>()));
        Assert.InRange(terms.MidSimilarity.item<float>(), -1f, 0f);
        Assert.InRange(terms.FullSimilarity.item<float>(), -2f, 0f);
        double expected = terms.MidSimilarity.item<float>() + terms.FullSimilarity.item<float>()
            + 0.1 * terms.Magnitude.item<float>() + 100 * terms.Jacobian.item<float>() + 3 * terms.Smoothness.item<float>();
        Assert.Equal(expected, terms.Total.item<float>(), 4);

        terms.Total.backward();
        int withGrad = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"non-finite gradient in {name}");
            if (p.grad.abs().sum().item<float>() > 0) withGrad++;
        }
        Assert.True(withGrad > 40, $"only {withGrad} parameters received a gradient");
    }

    [Fact]
    public void TwoDimensionalLossUsesWindowFive()
    {
        using var scope = NewDisposeScope();
        using var model = new SymNet(startChannels: 2, dims: 2);
        var x = rand([2, 1, 32, 48]);
        var y = rand([2, 1, 32, 48]);
        using var loss = new SymNetLoss(dims: 2);
        Assert.Equal(5, loss.Window);
        using var fields = SymNetPipeline.Forward(model, x, y);
        using var terms = loss.Compute(x, y, fields);
        terms.Total.backward();
        Assert.True(float.IsFinite(terms.Total.item<float>()));
    }

    [Fact]
    public void SimilarityBlurTakesAwayTheRewardForSubVoxelSmoothingOfNoisyImages()
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        long[] shape = [1, 1, 24, 24, 24];
        // two "subjects": one coarse structure, each image with its own voxel noise (as SynthSeg draws every voxel)
        var structure = nn.functional.interpolate(rand([1, 1, 4, 4, 4]), [24, 24, 24], mode: InterpolationMode.Trilinear, align_corners: true);
        var x = structure + 0.15f * randn(shape);
        var y = structure.roll(1, 2) + 0.15f * randn(shape);
        // both half-way maps half a voxel along the same axis: full maps stay the identity, both half-way images are interpolated
        var half = zeros([1, 3, 24, 24, 24]);
        half[.., 0] = 0.5f;
        using var identity = SymNetPipeline.FromVelocities(zeros([1, 3, 24, 24, 24]), zeros([1, 3, 24, 24, 24]));
        using var shifted = SymNetPipeline.FromVelocities(half, half);
        double Gain(double sigma)
        {
            using var loss = new SymNetLoss { SimilarityBlur = sigma };
            using var a = loss.Compute(x, y, identity);
            using var b = loss.Compute(x, y, shifted);
            return a.MidSimilarity.item<float>() - b.MidSimilarity.item<float>();   // > 0: the shift scores better
        }
        double raw = Gain(0), smoothed = Gain(1.5);
        Assert.True(raw > 0.02, $"the half-voxel shift should pay on raw noisy images (gain {raw:F4})");
        Assert.True(smoothed < raw / 5, $"with the blur the shift should pay far less (gain {smoothed:F4} against {raw:F4})");

        // and the blurred loss is the official loss on blurred inputs
        using var blurred = new SymNetLoss { SimilarityBlur = 1.5 };
        using var official = new SymNetLoss();
        var xb = Unsup.Registration.Synthesis.LabelImageSynthesizer.GaussianBlur(x[0, 0], 1.5).reshape(shape);
        var yb = Unsup.Registration.Synthesis.LabelImageSynthesizer.GaussianBlur(y[0, 0], 1.5).reshape(shape);
        using var t1 = blurred.Compute(x, y, shifted);
        using var t2 = official.Compute(xb, yb, shifted);
        Assert.Equal(t2.Total.item<float>(), t1.Total.item<float>(), 5);
        Assert.NotEqual(official.Compute(x, y, shifted).Total.item<float>(), t1.Total.item<float>(), 3);
    }

    [Fact]
    public void SimilarityWeightScalesTheNccTermsAndZeroLeavesLabelOverlapAloneToAlign()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new SymNet(startChannels: 2);
        var x = rand([1, 1, 16, 16, 16]);
        var y = x.roll(1, 2);
        var labelsX = SoftDice.OneHot((x * 3).floor().to(ScalarType.Int32), [0L, 1L, 2L]);
        var labelsY = SoftDice.OneHot((y * 3).floor().to(ScalarType.Int32), [0L, 1L, 2L]);
        using var fields = SymNetPipeline.Forward(model, x, y);
        float Total(double simWeight, Tensor a, Tensor b)
        {
            using var loss = new SymNetLoss { SimilarityWeight = simWeight, LabelWeight = 1 };
            using var t = loss.Compute(a, b, fields, labelsX, labelsY);
            return t.Total.item<float>();
        }
        using var official = new SymNetLoss { LabelWeight = 1 };
        using var terms = official.Compute(x, y, fields, labelsX, labelsY);
        float sim = terms.MidSimilarity.item<float>() + terms.FullSimilarity.item<float>(), rest = terms.Total.item<float>() - sim;
        Assert.True(sim < -0.1f, $"the NCC terms should weigh in here ({sim})");
        Assert.Equal(terms.Total.item<float>(), Total(1, x, y), 6);
        Assert.Equal(rest + 0.5f * sim, Total(0.5, x, y), 4);
        // weight 0: the images no longer count (noise in their place gives the same total), only labels and regularisers
        Assert.Equal(rest, Total(0, x, y), 4);
        Assert.Equal(Total(0, x, y), Total(0, rand([1, 1, 16, 16, 16]), rand([1, 1, 16, 16, 16])), 6);
        Assert.NotEqual(Total(1, x, y), Total(1, rand([1, 1, 16, 16, 16]), rand([1, 1, 16, 16, 16])), 3);
    }
}
