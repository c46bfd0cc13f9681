using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>Mirrors each image left-right with probability P (its own coin).</summary>
public sealed class RandomHorizontalFlip(double p = 0.5) : IBatchTransform
{
    public double P { get; } = p;

    public Tensor Apply(Tensor images, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var flip = Draw.Bernoulli(images.shape[0], P, generator).to(images.device).view(-1, 1, 1, 1);
        return where(flip, images.flip(3), images).MoveToOuterDisposeScope();
    }
}
