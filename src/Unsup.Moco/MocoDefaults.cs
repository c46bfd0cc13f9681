namespace Unsup.Moco;

/// <summary>A configuration chosen for the data and the machine, with the reason for every choice (printed at start).</summary>
public sealed record MocoDefaultsChoice(MocoConfig Config, IReadOnlyList<string> Reasons);

/// <summary>
/// What `moco pretrain` picks when an option is not given, so a run with only --data fits the images and the machine:
/// the small preset and the CIFAR stem for images of <see cref="SmallImageSide"/> px or less (a 7x7 stride-2 stem and
/// max-pool would leave 7x7 maps of a 28-px image after the stem and 1x1 at layer4), ResNet-18 at width
/// <see cref="CpuWidth"/> with a stride-<see cref="CpuStemStride"/> CIFAR stem without a GPU (and, with the small preset,
/// <see cref="CpuSmallEpochs"/> epochs), and a batch no larger than the training set. Options given explicitly are
/// applied afterwards by the caller and always win.
/// </summary>
public static class MocoDefaults
{
    public const int SmallImageSide = 64;
    /// <summary>
    /// Base width without a GPU. Measured on this project's 2-core CPU with the cifar preset on Fashion-MNIST
    /// (28 px, batch 512, symmetric loss, `moco pretrain --dry-run`): see README "Defaults that fit the data".
    /// </summary>
    public const int CpuWidth = 16;

    /// <summary>
    /// Epochs of the small preset without a GPU, with the stride-2 stem: the README's Fashion-MNIST run (30 epochs at width
    /// 16 in 88 minutes of training, 94 with the kNN passes, on one core of this project's 2-core CPU beside other work); the preset's own 200 are GPU-sized.
    /// </summary>
    public const int CpuSmallEpochs = 30;

    /// <summary>
    /// Stride of the CIFAR stem without a GPU: 2 leaves a quarter of the compute per image (Fashion-MNIST at width 16:
    /// 391-430 img/s against 132 with stride 1, one thread each beside another run; bench/results/moco/ablations.md).
    /// </summary>
    public const int CpuStemStride = 2;

    /// <summary>The preset for images whose shorter side is <paramref name="imageSide"/> px.</summary>
    public static string PresetFor(int imageSide) => imageSide <= SmallImageSide ? "small" : "v2";

    /// <param name="preset">--preset, or null to choose from the image size.</param>
    /// <param name="imageSide">Shorter side of the training images.</param>
    /// <param name="imageCount">Training images (the batch must not exceed them).</param>
    /// <param name="gpu">Whether training runs on a GPU.</param>
    public static MocoDefaultsChoice Choose(string? preset, int imageSide, long imageCount, bool gpu)
    {
        var reasons = new List<string>();
        string name = preset ?? PresetFor(imageSide);
        reasons.Add(preset != null ? $"preset {name} (--preset)"
            : $"preset {name} ({imageSide}-px images {(imageSide <= SmallImageSide ? "<=" : ">")} {SmallImageSide} px)");
        var c = MocoConfig.FromPreset(name);
        if (imageSide <= SmallImageSide)
        {
            if (!c.CifarStem) reasons.Add($"CIFAR stem ({imageSide}-px images)");
            c = c with { CifarStem = true };
        }
        if (!gpu)
        {
            if (c.Arch != "resnet18") reasons.Add($"resnet18 instead of the preset's {c.Arch} (no GPU)");
            reasons.Add($"width {CpuWidth} (no GPU; 64 is torchvision's)");
            c = c with { Arch = "resnet18", Width = CpuWidth };
            if (c.CifarStem)
            {
                reasons.Add($"stem stride {CpuStemStride} (no GPU: a quarter of the compute per image)");
                c = c with { StemStride = CpuStemStride };
            }
            if (c.Preset == "small")
            {
                reasons.Add($"{CpuSmallEpochs} epochs (no GPU: about 1.5 h at width {CpuWidth} on one core of a 2-core CPU)");
                c = c with { Epochs = CpuSmallEpochs };
            }
        }
        if (c.BatchSize > imageCount && imageCount > 0)
        {
            int batch = 1;
            while (batch * 2 <= imageCount) batch *= 2;
            int splits = Math.Min(c.BnSplits, batch);
            reasons.Add($"batch {batch} (the preset's {c.BatchSize} exceeds the {imageCount} training images)");
            c = c with { BatchSize = batch, BnSplits = splits };
        }
        return new MocoDefaultsChoice(c, reasons);
    }
}
