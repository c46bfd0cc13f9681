using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// MoCo v2's GaussianBlur (moco/loader.py: PIL's <c>ImageFilter.GaussianBlur(radius=σ)</c>) applied with probability P,
/// σ ~ U[σmin, σmax] per image. PIL blurs with three passes of an "extended" box filter per axis (Gwosdek et al. 2011):
/// a box of integer radius l plus a fractional weight a at ±(l+1), chosen so the three passes have variance σ², each
/// pass clamping at the image border (edge pixels repeated). The filter's reach therefore grows with σ (±6 pixels at
/// σ = 2), whatever the image size. Done here the same way in float (PIL rounds to uint8 after every pass), all images
/// at once as grouped convolutions; images that skip the blur get the identity box (l = 0, a = 0).
/// </summary>
public sealed class GaussianBlur(double sigmaMin = 0.1, double sigmaMax = 2.0, double p = 0.5) : IBatchTransform
{
    public (double min, double max) Sigma { get; } = (sigmaMin, sigmaMax);
    public double P { get; } = p;
    const int Passes = 3;

    /// <summary>
    /// Per-image box weights [N, 2R+3] (float64, CPU) for σ [N], R the largest integer radius in the batch: PIL's
    /// <c>_gaussian_blur_radius</c> (BoxBlur.c) gives l and a per image; weights 1 inside ±l, a at ±(l+1), normalised.
    /// </summary>
    public static Tensor Boxes(Tensor sigma)
    {
        using var scope = NewDisposeScope();
        var s2 = sigma.to(ScalarType.Float64).cpu().pow(2) / Passes;
        var l = (((12 * s2 + 1).sqrt() - 1) / 2).floor();
        var a = (2 * l + 1) * (l * (l + 1) - 3 * s2) / (6 * (s2 - (l + 1).pow(2)));
        long r = (long)l.max().item<double>();
        var x = arange(-(r + 1), r + 2, dtype: ScalarType.Float64).abs().view(1, -1);
        var lv = l.view(-1, 1);
        var w = where(x.le(lv), ones_like(x), where(x.eq(lv + 1), a.view(-1, 1).expand(-1, x.shape[1]), zeros_like(x)));
        return (w / w.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }

    public Tensor Apply(Tensor images, Generator? generator)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0];
        var apply = Draw.Bernoulli(n, P, generator);
        var sigma = Draw.Uniform(n, Sigma.min, Sigma.max, generator);
        return Blur(images, where(apply, sigma, zeros_like(sigma))).MoveToOuterDisposeScope();
    }

    /// <summary>Blurs image i with σ[i] (0 = unchanged), as PIL's GaussianBlur(radius = σ) without its uint8 rounding.</summary>
    public static Tensor Blur(Tensor images, Tensor sigma)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], c = images.shape[1], H = images.shape[2], W = images.shape[3];
        var box = Boxes(sigma);
        int size = (int)box.shape[1], pad = size / 2;
        if (size == 3 && box[.., 0].eq(0).all().item<bool>()) return images.clone().MoveToOuterDisposeScope();
        // one group per (image, channel)
        var k = box.repeat_interleave(c, 0).to(images.dtype).to(images.device);
        var kv = k.view(n * c, 1, size, 1);
        var kh = k.view(n * c, 1, 1, size);
        var x = images.reshape(1, n * c, H, W);
        for (int i = 0; i < Passes; i++)
            x = nn.functional.conv2d(nn.functional.pad(x, [pad, pad, 0, 0], PaddingModes.Replicate), kh, groups: n * c);
        for (int i = 0; i < Passes; i++)
            x = nn.functional.conv2d(nn.functional.pad(x, [0, 0, pad, pad], PaddingModes.Replicate), kv, groups: n * c);
        return x.reshape(n, c, H, W).MoveToOuterDisposeScope();
    }
}
