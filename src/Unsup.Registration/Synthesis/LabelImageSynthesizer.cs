using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// Makes an MR-like image from a label map, the SynthSeg way without the spatial augmentation: every
/// label draws a mean and a spread from its <see cref="LabelIntensityPriors"/>, every voxel is drawn from
/// its label's Gaussian, the result is smoothed (partial volume), clamped at 0 and min-max scaled to [0, 1].
/// The output lies on the label map's voxel grid exactly, so the map is the image's ground-truth segmentation.
/// Reproducible: the same labels, priors, options and seed give the same image.
/// </summary>
public sealed class LabelImageSynthesizer
{
    public LabelIntensityPriors Priors { get; }
    /// <summary>Gaussian smoothing in voxels (0 = none).</summary>
    public double BlurSigma { get; init; } = 1.0;

    public LabelImageSynthesizer(LabelIntensityPriors priors) { Priors = priors; }

    /// <param name="labels">a label map [*spatial] (2 or 3 axes, any integer or integral float dtype)</param>
    public Tensor Synthesize(Tensor labels, long seed)
    {
        if (labels.dim() is not (2 or 3)) throw new ArgumentException($"label map must be 2D or 3D, got [{string.Join(", ", labels.shape)}]");
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        var device = labels.device;
        int n = Priors.Labels.Length;
        var (mu, sigma) = DrawParameters(gen, n);
        var idx = LabelIndex(labels.to(ScalarType.Int64), tensor(Priors.Labels));
        var known = idx >= 0;
        var safe = idx.clamp(min: 0);
        var mean = where(known, mu.to(device)[safe], zeros(1, device: device));
        var std = where(known, sigma.to(device)[safe], zeros(1, device: device));
        var noise = randn(labels.shape, generator: gen).to(device);
        var image = mean + std * noise;
        if (BlurSigma > 0) image = GaussianBlur(image, BlurSigma);
        image = image.clamp(min: 0).unsqueeze(0).unsqueeze(0);
        return IntensityNormalization.MinMax(image).squeeze(0).squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>The per-label means and spreads one image uses (float32 [n] each), drawn from the priors.</summary>
    (Tensor Mean, Tensor Std) DrawParameters(Generator gen, int n)
    {
        var p = Priors;
        var z1 = randn([n], ScalarType.Float64, generator: gen);
        var z2 = randn([n], ScalarType.Float64, generator: gen);
        var mean = tensor(p.MeanMu) + tensor(p.MeanSigma) * z1;
        var std = (tensor(p.StdMu) + tensor(p.StdSigma) * z2).clamp(min: 0);
        return (mean.clamp(min: 0).to(ScalarType.Float32), std.to(ScalarType.Float32));
    }

    /// <summary>Position of each voxel's label in <paramref name="ids"/>, or -1.</summary>
    internal static Tensor LabelIndex(Tensor values, Tensor ids)
    {
        var sorted = ids.sort();
        var pos = searchsorted(sorted.Values, values.contiguous()).clamp(max: ids.numel() - 1);
        var hit = sorted.Values[pos] == values;
        return where(hit, sorted.Indices[pos], full_like(values, -1));
    }

    /// <summary>Separable Gaussian smoothing of a 2D/3D image (zero outside), kernel radius 3σ.</summary>
    public static Tensor GaussianBlur(Tensor image, double sigma)
    {
        using var scope = NewDisposeScope();
        int nd = (int)image.dim();
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var x = arange(-radius, radius + 1, dtype: ScalarType.Float32, device: image.device);
        var k = exp(-x.square() / (2 * sigma * sigma));
        k = k / k.sum();
        var t = image.to(ScalarType.Float32).unsqueeze(0).unsqueeze(0);
        for (int axis = 0; axis < nd; axis++)
        {
            var shape = Enumerable.Repeat(1L, nd + 2).ToArray();
            shape[axis + 2] = k.numel();
            var pad = new long[nd];
            pad[axis] = radius;
            var w = k.reshape(shape);
            t = nd == 3 ? nn.functional.conv3d(t, w, padding: pad) : nn.functional.conv2d(t, w, padding: pad);
        }
        return t.squeeze(0).squeeze(0).MoveToOuterDisposeScope();
    }
}
