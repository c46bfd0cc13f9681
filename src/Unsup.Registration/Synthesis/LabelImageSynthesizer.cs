using TorchSharp;
using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// Makes an MR-like image from a label map with the steps and default ranges of SynthSeg's brain generator
/// (labels_to_image_model.py): every intensity class draws a mean and a spread from its
/// <see cref="LabelIntensityPriors"/> and every voxel is drawn from its label's Gaussian
/// (<see cref="DrawIntensities"/>); a smooth random bias field multiplies it (<see cref="CorruptBias"/>);
/// the image is clipped to [0, 300], min-max normalised and gamma-augmented (<see cref="AugmentIntensity"/>);
/// then it is blurred for its acquisition resolution (<see cref="SimulateResolution"/>). Without a
/// <see cref="RandomDeformation"/> the image lies on the label map's grid exactly, so the map is its
/// ground-truth segmentation; with one (affine, integrated SVF, left-right flip) the deformed map is returned
/// with it. Reproducible: the same inputs, options and seed give the same image.
/// </summary>
public sealed class LabelImageSynthesizer
{
    public LabelIntensityPriors Priors { get; }

    /// <summary>
    /// Largest standard deviation of the log bias field (SynthSeg's bias_field_std, 0.7; 0 = none): each image
    /// draws its own from U(0, this) for a coarse Gaussian grid that is upsampled to the image and exponentiated.
    /// </summary>
    public double BiasFieldStd { get; init; } = 0.7;
    /// <summary>Coarse bias grid size / image size per axis, rounded up (SynthSeg's bias_scale, 0.025).</summary>
    public double BiasFieldScale { get; init; } = 0.025;
    /// <summary>Chance that an image gets a bias field at all (SynthSeg's BiasFieldCorruption prob, 0.95).</summary>
    public double BiasFieldProbability { get; init; } = 0.95;

    /// <summary>Intensities are clipped to [0, this] (prior units) before normalisation (SynthSeg's clip=300); +∞ = no clip.</summary>
    public double ClipMax { get; init; } = 300;
    /// <summary>Std of the log gamma exponent: the normalised image is raised to exp(N(0, this)) (SynthSeg's gamma_std, 0.5; 0 = none).</summary>
    public double GammaStd { get; init; } = 0.5;
    /// <summary>
    /// Largest std of white Gaussian noise in prior units, each image U(0, this), added before clipping (SynthSeg's
    /// brain generator adds none: 0).
    /// </summary>
    public double NoiseStd { get; init; }

    /// <summary>
    /// Gaussian blur sigma in voxels; null (default) follows SynthSeg's blurring_sigma_for_downsampling: 0.5 voxel at
    /// the grid's own resolution, 0.75 × <see cref="DataResolution"/> when the image mimics a coarser acquisition;
    /// each axis's sigma is scaled by U(1/1.03, 1.03). 0 = no blur.
    /// </summary>
    public double? BlurSigma { get; init; }
    /// <summary>
    /// The acquisition resolution to mimic, in voxels of the label grid (1 = the grid's own, default): the image is
    /// blurred for it, sampled at it (nearest) and brought back to the grid (linear), as SynthSeg's data_res.
    /// </summary>
    public double DataResolution { get; init; } = 1;
    /// <summary>
    /// SynthSeg's randomise_res: each image draws an acquisition resolution (with 5 % chance the grid's own; else
    /// with 10 % chance isotropic U(1, <see cref="MaxResolutionIso"/>), otherwise one random axis U(1,
    /// <see cref="MaxResolutionAniso"/>)) and a slice thickness U(1, resolution), in voxels of the label grid.
    /// Off by default here: SynthSeg's 4 and 8 are millimetres at its 1 mm maps, and registration grids are coarser.
    /// </summary>
    public bool RandomiseResolution { get; init; }
    public double MaxResolutionIso { get; init; } = 4;
    public double MaxResolutionAniso { get; init; } = 8;

    /// <summary>
    /// Set background (label 0) voxels to 0 at the end, as a skull-stripping tool leaves a scan: for brain-only
    /// label maps, so the image looks like the skull-stripped scans registration networks see.
    /// </summary>
    public bool ZeroBackground { get; init; }

    /// <summary>Blur range of SynthSeg's GaussianBlur layers: each sigma is scaled by U(1/this, this).</summary>
    const double BlurRange = 1.03;

    public LabelImageSynthesizer(LabelIntensityPriors priors) { Priors = priors; }

    /// <summary>The image of a label map [*spatial] (2 or 3 axes, any integer or integral float dtype), in [0, 1].</summary>
    /// <param name="contrastSeed">When given, the per-class means and spreads (the contrast) come from this seed and the
    /// rest (voxel draws, bias, gamma, resolution) from <paramref name="seed"/>: images sharing it look like one scanner's.</param>
    public Tensor Synthesize(Tensor labels, long seed, long? contrastSeed = null)
    {
        CheckDims(labels);
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        using var contrast = ContrastGenerator(contrastSeed);
        return Fill(labels, gen, contrast).MoveToOuterDisposeScope();
    }

    static Generator? ContrastGenerator(long? seed) => seed is long s ? new Generator(unchecked((ulong)s)) : null;

    /// <summary>
    /// The label map deformed by a random <paramref name="deformation"/> (nearest neighbour and a left-right label
    /// swap when flipped, so no new label values) and an image synthesised from it: an image and its exact
    /// segmentation, both on the input grid.
    /// </summary>
    public (Tensor Image, Tensor Labels) Synthesize(Tensor labels, long seed, RandomDeformation deformation, long? contrastSeed = null)
    {
        CheckDims(labels);
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        using var contrast = ContrastGenerator(contrastSeed);
        var moved = deformation.Apply(labels, gen);
        var image = Fill(moved, gen, contrast);
        return (image.MoveToOuterDisposeScope(), moved.MoveToOuterDisposeScope());
    }

    Tensor Fill(Tensor labels, Generator gen, Generator? contrast)
    {
        var image = DrawIntensities(labels, gen, contrast);
        image = CorruptBias(image, gen);
        image = AugmentIntensity(image, gen);
        image = SimulateResolution(image, gen);
        if (ZeroBackground) image = image * (labels != 0);
        // registration inputs are min-max normalised (the SYMNet convention); blur and background removal move the ends
        return IntensityNormalization.MinMax(image.unsqueeze(0).unsqueeze(0)).squeeze(0).squeeze(0);
    }

    /// <summary>
    /// SynthSeg's SampleConditionalGMM with its per-class parameters (drawn from <paramref name="contrast"/> when given):
    /// the image in prior units, float32 like <paramref name="labels"/>. Labels the priors do not list are 0.
    /// </summary>
    public Tensor DrawIntensities(Tensor labels, Generator gen, Generator? contrast = null)
    {
        using var scope = NewDisposeScope();
        var device = labels.device;
        var (mu, sigma) = DrawLabelParameters(contrast ?? gen);
        var idx = LabelIndex(labels.to(ScalarType.Int64), tensor(Priors.Labels, device: device));
        var known = idx >= 0;
        var safe = idx.clamp(min: 0);
        var mean = where(known, mu.to(device)[safe], zeros(1, device: device));
        var std = where(known, sigma.to(device)[safe], zeros(1, device: device));
        return (mean + std * randn(labels.shape, generator: gen).to(device)).MoveToOuterDisposeScope();
    }

    /// <summary>Each label's mean and spread for one image (float32 [n] each): drawn once per class, shared by its labels, clamped at 0.</summary>
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

    /// <summary>
    /// SynthSeg's BiasFieldCorruption: with probability <see cref="BiasFieldProbability"/>, image × exp(b), b drawn
    /// N(0, U(0, <see cref="BiasFieldStd"/>)) on a ceil(<see cref="BiasFieldScale"/> × size) grid, upsampled linearly.
    /// </summary>
    public Tensor CorruptBias(Tensor image, Generator gen)
    {
        using var scope = NewDisposeScope();
        // the draws are made whether or not the field is applied, so later steps see the same random stream
        double apply = Uniform(gen), std = BiasFieldStd * Uniform(gen);
        int nd = (int)image.dim();
        var small = image.shape.Select(s => (long)Math.Max(1, Math.Ceiling(s * BiasFieldScale))).ToArray();
        var coarse = randn([1, 1, .. small], generator: gen).to(image.device) * std;
        if (BiasFieldStd <= 0 || apply >= BiasFieldProbability) return image.alias().MoveToOuterDisposeScope();
        var field = nn.functional.interpolate(coarse, size: image.shape, mode: Linear(nd), align_corners: true).squeeze(0).squeeze(0);
        return (image * field.exp()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// SynthSeg's IntensityAugmentation(clip=300, normalise, gamma_std=0.5): optional noise, clip to [0,
    /// <see cref="ClipMax"/>], min-max to [0, 1], then x^exp(γ), γ ~ N(0, <see cref="GammaStd"/>).
    /// </summary>
    public Tensor AugmentIntensity(Tensor image, Generator gen)
    {
        using var scope = NewDisposeScope();
        double noise = NoiseStd * Uniform(gen);
        double gamma = Math.Exp(GammaStd * randn([1], ScalarType.Float64, generator: gen).item<double>());
        var x = image;
        if (noise > 0) x = x + noise * randn(image.shape, generator: gen).to(image.device);
        x = x.clamp(0, ClipMax);
        x = IntensityNormalization.MinMax(x.unsqueeze(0).unsqueeze(0)).squeeze(0).squeeze(0);
        if (GammaStd > 0) x = x.pow(gamma);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// SynthSeg's resolution step: blur for the acquisition resolution (fixed <see cref="DataResolution"/> or, with
    /// <see cref="RandomiseResolution"/>, a drawn one), sample at that resolution (nearest), back to the grid (linear).
    /// </summary>
    public Tensor SimulateResolution(Tensor image, Generator gen)
    {
        using var scope = NewDisposeScope();
        int nd = (int)image.dim();
        var (resolution, thickness) = RandomiseResolution ? DrawResolution(nd, gen) : (Fill(nd, DataResolution), Fill(nd, DataResolution));
        var jitter = (rand([nd], ScalarType.Float64, generator: gen) * (BlurRange - 1 / BlurRange) + 1 / BlurRange).data<double>().ToArray();
        var sigma = BlurSigma is double s
            ? Fill(nd, s)
            : resolution.Select((r, i) => Math.Min(r, thickness[i]) is var b && b <= 1 ? 0.5 : 0.75 * b).ToArray();
        var x = image;
        if (sigma.Any(v => v > 0)) x = GaussianBlur(x, sigma.Select((v, i) => v * jitter[i]).ToArray());
        if (resolution.Any(r => r > 1))
        {
            var low = image.shape.Select((n, i) => Math.Max(1L, (long)(n / resolution[i]))).ToArray();
            var t = x.unsqueeze(0).unsqueeze(0);
            t = nn.functional.interpolate(t, size: low, mode: InterpolationMode.Nearest);
            x = nn.functional.interpolate(t, size: image.shape, mode: Linear(nd), align_corners: true).squeeze(0).squeeze(0);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>SynthSeg's SampleResolution (prob_min 0.05, prob_iso 0.1) with a thickness U(1, resolution), in grid voxels.</summary>
    (double[] Resolution, double[] Thickness) DrawResolution(int nd, Generator gen)
    {
        double pMin = Uniform(gen), pIso = Uniform(gen), iso = 1 + (MaxResolutionIso - 1) * Uniform(gen);
        int axis = Math.Min(nd - 1, (int)(nd * Uniform(gen)));
        double aniso = 1 + (MaxResolutionAniso - 1) * Uniform(gen);
        var res = Fill(nd, 1);
        if (pMin >= 0.05)
        {
            if (pIso < 0.1) res = Fill(nd, iso);
            else res[axis] = aniso;
        }
        var thickness = res.Select(r => 1 + (r - 1) * Uniform(gen)).ToArray();
        return (res, thickness);
    }

    static double Uniform(Generator gen) => rand([1], ScalarType.Float64, generator: gen).item<double>();
    static double[] Fill(int n, double v) => Enumerable.Repeat(v, n).ToArray();
    static InterpolationMode Linear(int nd) => nd == 3 ? InterpolationMode.Trilinear : InterpolationMode.Bilinear;

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
    public static Tensor GaussianBlur(Tensor image, double sigma) => GaussianBlur(image, Fill((int)image.dim(), sigma));

    /// <summary>The same with one sigma per axis (0 leaves that axis alone).</summary>
    public static Tensor GaussianBlur(Tensor image, double[] sigma)
    {
        using var scope = NewDisposeScope();
        int nd = (int)image.dim();
        var t = image.to(ScalarType.Float32).unsqueeze(0).unsqueeze(0);
        for (int axis = 0; axis < nd; axis++)
        {
            if (sigma[axis] <= 0) continue;
            int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma[axis]));
            var x = arange(-radius, radius + 1, dtype: ScalarType.Float32, device: image.device);
            var k = exp(-x.square() / (2 * sigma[axis] * sigma[axis]));
            k = k / k.sum();
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
