using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// torchvision's GaussianBlur applied with probability P, σ ~ U[σmin, σmax] per image: the 1-D kernel
/// exp(−x²/2σ²) over x = −(k−1)/2 … (k−1)/2, normalised, applied separably with reflect padding. All images are
/// blurred in two grouped (depthwise) convolutions; images that skip the blur get a delta kernel (exact identity).
/// </summary>
public sealed class GaussianBlur(int kernelSize, double sigmaMin = 0.1, double sigmaMax = 2.0, double p = 0.5) : IBatchTransform
{
    public int KernelSize { get; } = kernelSize >= 1 && kernelSize % 2 == 1 ? kernelSize
        : throw new ArgumentOutOfRangeException(nameof(kernelSize), "kernel size must be odd and positive");
    public (double min, double max) Sigma { get; } = (sigmaMin, sigmaMax);
    public double P { get; } = p;

    /// <summary>About a tenth of the image side, odd, at least 3 (23 for 224-pixel crops, 3 for 32).</summary>
    public static int KernelSizeFor(int imageSize) => Math.Max(3, (int)Math.Round(imageSize * 0.1) | 1);

    /// <summary>Per-image 1-D kernels [N, k] for the given σ (CPU, float64).</summary>
    public static Tensor Kernels(Tensor sigma, int kernelSize)
    {
        using var scope = NewDisposeScope();
        var x = linspace(-(kernelSize - 1) / 2.0, (kernelSize - 1) / 2.0, kernelSize, dtype: ScalarType.Float64).view(1, -1);
        var k = (-0.5 * (x / sigma.view(-1, 1)).pow(2)).exp();
        return (k / k.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }

    public Tensor Apply(Tensor images, Generator? generator)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], c = images.shape[1], H = images.shape[2], W = images.shape[3];
        var apply = Draw.Bernoulli(n, P, generator);
        var sigma = Draw.Uniform(n, Sigma.min, Sigma.max, generator);
        int pad = KernelSize / 2;
        if (pad >= H || pad >= W) throw new UnsupException($"blur kernel {KernelSize} is too large for {H}x{W} images");
        var delta = zeros(KernelSize, dtype: ScalarType.Float64); delta[pad] = 1.0;
        var k = where(apply.view(-1, 1), Kernels(sigma, KernelSize), delta.view(1, -1));
        // one group per (image, channel)
        var kc = k.repeat_interleave(c, 0).to(images.dtype).to(images.device);
        var x = images.reshape(1, n * c, H, W);
        x = nn.functional.pad(x, [pad, pad, pad, pad], PaddingModes.Reflect);
        x = nn.functional.conv2d(x, kc.view(n * c, 1, KernelSize, 1), groups: n * c);
        x = nn.functional.conv2d(x, kc.view(n * c, 1, 1, KernelSize), groups: n * c);
        return x.reshape(n, c, H, W).MoveToOuterDisposeScope();
    }
}
