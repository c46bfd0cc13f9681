using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// The two-view augmentation of MoCo as one batched pipeline: uint8 or [0, 1] float images [N, C, H, W] in,
/// two independently augmented, normalised views out (same device as the input).
/// Presets follow the official code: <c>v1</c> (main_moco.py without --aug-plus), <c>v2</c> (--aug-plus) and
/// <c>cifar</c> (the CIFAR-10 colab demo, whose RandomResizedCrop keeps torchvision's default scale 0.08–1).
/// </summary>
public sealed class MocoAugmentation
{
    public string Name { get; }
    public int Size { get; }
    public IReadOnlyList<IBatchTransform> Steps { get; }
    public Normalize Normalize { get; }

    public MocoAugmentation(string name, int size, IReadOnlyList<IBatchTransform> steps, Normalize normalize)
    {
        Name = name; Size = size; Steps = steps; Normalize = normalize;
    }

    public static readonly string[] Presets = ["v1", "v2", "cifar"];

    /// <param name="preset">v1 | v2 | cifar.</param>
    /// <param name="size">Output crop side (224 for ImageNet, 32 for CIFAR, 28 for Fashion-MNIST).</param>
    /// <param name="normalize">Channel statistics; default by channel count is the caller's job (see Normalize.ForChannels).</param>
    /// <param name="cropScaleMin">Overrides the preset's smallest crop area fraction (0.2 for v1/v2, 0.08 for cifar).</param>
    public static MocoAugmentation Create(string preset, int size, Normalize normalize, double? cropScaleMin = null)
    {
        if (cropScaleMin is double c && (c <= 0 || c > 1)) throw new UnsupException($"--crop-min {c}: must be in (0, 1]");
        return preset.ToLowerInvariant() switch
    {
        // RandomResizedCrop(0.2,1), RandomGrayscale(.2), ColorJitter(.4,.4,.4,.4) always, flip
        "v1" => new("v1", size, [
            new RandomResizedCrop(size, cropScaleMin ?? 0.2, 1.0),
            new RandomGrayscale(0.2),
            new ColorJitter(0.4, 0.4, 0.4, 0.4, p: 1.0),
            new RandomHorizontalFlip()], normalize),
        // RandomResizedCrop(0.2,1), RandomApply(ColorJitter(.4,.4,.4,.1), .8), RandomGrayscale(.2), RandomApply(blur σ .1–2, .5), flip
        "v2" => new("v2", size, [
            new RandomResizedCrop(size, cropScaleMin ?? 0.2, 1.0),
            new ColorJitter(0.4, 0.4, 0.4, 0.1, p: 0.8),
            new RandomGrayscale(0.2),
            new GaussianBlur(0.1, 2.0, p: 0.5),
            new RandomHorizontalFlip()], normalize),
        // RandomResizedCrop(32) [scale .08–1], flip, RandomApply(ColorJitter(.4,.4,.4,.1), .8), RandomGrayscale(.2)
        "cifar" => new("cifar", size, [
            new RandomResizedCrop(size, cropScaleMin ?? 0.08, 1.0),
            new RandomHorizontalFlip(),
            new ColorJitter(0.4, 0.4, 0.4, 0.1, p: 0.8),
            new RandomGrayscale(0.2)], normalize),
        _ => throw new UnsupException($"--aug {preset}: expected one of {string.Join(", ", Presets)}"),
    };
    }

    /// <summary>uint8 [0, 255] → float [0, 1]; float input is taken as already in [0, 1].</summary>
    public static Tensor ToUnitFloat(Tensor images) =>
        images.dtype == ScalarType.Byte ? images.to(ScalarType.Float32).div_(255f) : images.to(ScalarType.Float32);

    /// <summary>One augmented view; <paramref name="normalize"/> false keeps [0, 1] pixels (for previews).</summary>
    public Tensor View(Tensor images, Generator? generator = null, bool normalize = true)
    {
        if (images.dim() != 4) throw new UnsupException($"augmentation expects images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        using var scope = NewDisposeScope();
        var x = ToUnitFloat(images);
        foreach (var step in Steps)
        {
            using var inner = NewDisposeScope();
            x = step.Apply(x, generator).MoveToOuterDisposeScope();
        }
        if (normalize) x = Normalize.Apply(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Two independent views of the same images (query and key crops).</summary>
    public (Tensor view1, Tensor view2) TwoViews(Tensor images, Generator? generator = null) =>
        (View(images, generator), View(images, generator));

    /// <summary>The un-augmented, normalised images (kNN feature pass).</summary>
    public Tensor Plain(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Normalize.Apply(ToUnitFloat(images)).MoveToOuterDisposeScope();
    }
}
