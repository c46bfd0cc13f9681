using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>With probability P an RGB image becomes its luma replicated on 3 channels; 1-channel images pass through.</summary>
public sealed class RandomGrayscale(double p = 0.2) : IBatchTransform
{
    public double P { get; } = p;

    public Tensor Apply(Tensor images, Generator? generator)
    {
        // draw even for gray input so the generator advances the same way for every channel count
        using var scope = NewDisposeScope();
        var mask = Draw.Bernoulli(images.shape[0], P, generator).to(images.device).view(-1, 1, 1, 1);
        if (images.shape[1] != 3) return images.alias().MoveToOuterDisposeScope();
        var gray = ColorSpace.Grayscale(images).expand_as(images);
        return where(mask, gray, images).MoveToOuterDisposeScope();
    }
}
