using TorchSharp;
using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// Makes an MR-like image from a label map, the SynthSeg way: every intensity class draws a mean and a
/// spread from its <see cref="LabelIntensityPriors"/>, every voxel is drawn from its label's class Gaussian,
/// then the image is smoothed (partial volume), multiplied by a smooth random bias field, given Gaussian
/// noise, clamped at 0 and min-max scaled to [0, 1]. Without a <see cref="RandomDeformation"/> the image
/// lies on the label map's grid exactly, so the map is its ground-truth segmentation; with one, the
/// deformed map is returned with it. Reproducible: the same inputs, options and seed give the same image.
/// </summary>
public sealed class LabelImageSynthesizer
{
    public LabelIntensityPriors Priors { get; }
    /// <summary>Gaussian smoothing in voxels (0 = none).</summary>
    public double BlurSigma { get; init; } = 1.0;
    /// <summary>
    /// Largest standard deviation of the log bias field (0 = none): each image draws its own from U(0, this),
    /// on a coarse <see cref="BiasFieldGrid"/>^d grid of control values upsampled to the image, as SynthSeg.
    /// </summary>
    public double BiasFieldStd { get; init; } = 0.3;
    public int BiasFieldGrid { get; init; } = 4;
    /// <summary>Largest noise standard deviation in prior intensity units; each image draws U(0, this).</summary>
    public double NoiseStd { get; init; } = 5.0;

    /// <summary>
    /// Set background (label 0) voxels to 0 after the noise, as a skull-stripping tool leaves a scan: for
    /// brain-only label maps, so the image looks like the skull-stripped scans registration networks see.
    /// </summary>
    public bool ZeroBackground { get; init; }

    public LabelImageSynthesizer(LabelIntensityPriors priors) { Priors = priors; }

    /// <param name="labels">a label map [*spatial] (2 or 3 axes, any integer or integral float dtype)</param>
    public Tensor Synthesize(Tensor labels, long seed)
    {
        CheckDims(labels);
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        return Fill(labels, gen).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The label map deformed by a random <paramref name="deformation"/> (nearest neighbour, so no new label
    /// values) and an image synthesised from it: an image and its exact segmentation, both on the input grid.
    /// </summary>
    public (Tensor Image, Tensor Labels) Synthesize(Tensor labels, long seed, RandomDeformation deformation)
    {
        CheckDims(labels);
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        var moved = deformation.Apply(labels, gen);
        var image = Fill(moved, gen);
        return (image.MoveToOuterDisposeScope(), moved.MoveToOuterDisposeScope());
    }

    Tensor Fill(Tensor labels, Generator gen)
    {
        var device = labels.device;
        var (mu, sigma) = DrawLabelParameters(gen);
        var idx = LabelIndex(labels.to(ScalarType.Int64), tensor(Priors.Labels, device: device));
        var known = idx >= 0;
        var safe = idx.clamp(min: 0);
        var mean = where(known, mu.to(device)[safe], zeros(1, device: device));
        var std = where(known, sigma.to(device)[safe], zeros(1, device: device));
        var image = mean + std * randn(labels.shape, generator: gen).to(device);
        if (BlurSigma > 0) image = GaussianBlur(image, BlurSigma);
        if (BiasFieldStd > 0) image = image * BiasField(labels.shape, gen, device);
        if (NoiseStd > 0)
        {
            double noise = NoiseStd * rand([1], ScalarType.Float64, generator: gen).item<double>();
            image = image + noise * randn(labels.shape, generator: gen).to(device);
        }
        image = image.clamp(min: 0);
        if (ZeroBackground) image = image * (labels != 0);
        image = image.unsqueeze(0).unsqueeze(0);
        return IntensityNormalization.MinMax(image).squeeze(0).squeeze(0);
    }

    /// <summary>Each label's mean and spread for one image (float32 [n] each): drawn once per class, shared by its labels.</summary>
    (Tensor Mean, Tensor Std) DrawLabelParameters(Generator gen)
    {
        var p = Priors;
        int n = p.ClassCount;
        var z1 = randn([n], ScalarType.Float64, generator: gen);
        var z2 = randn([n], ScalarType.Float64, generator: gen);
        var mean = (tensor(p.MeanMu) + tensor(p.MeanSigma) * z1).clamp(min: 0);
        var std = (tensor(p.StdMu) + tensor(p.StdSigma) * z2).clamp(min: 0);
        var cls = tensor(p.ClassOf.Select(c => (long)c).ToArray());
        return (mean[cls].to(ScalarType.Float32), std[cls].to(ScalarType.Float32));
    }

    /// <summary>A smooth positive multiplicative field exp(b), b upsampled from a coarse Gaussian grid.</summary>
    Tensor BiasField(long[] shape, Generator gen, Device device)
    {
        int nd = shape.Length;
        double std = BiasFieldStd * rand([1], ScalarType.Float64, generator: gen).item<double>();
        var coarse = randn([1, 1, .. Enumerable.Repeat((long)BiasFieldGrid, nd)], generator: gen).to(device) * std;
        var mode = nd == 3 ? InterpolationMode.Trilinear : InterpolationMode.Bilinear;
        var up = nn.functional.interpolate(coarse, size: shape, mode: mode, align_corners: true);
        return up.squeeze(0).squeeze(0).exp();
    }

    static void CheckDims(Tensor labels)
    {
        if (labels.dim() is not (2 or 3)) throw new ArgumentException($"label map must be 2D or 3D, got [{string.Join(", ", labels.shape)}]");
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
