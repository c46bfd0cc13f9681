using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>(x − mean[c]) / std[c]. Not random; the last step of every view and of the kNN feature pass.</summary>
public sealed class Normalize : IBatchTransform
{
    public float[] Mean { get; }
    public float[] Std { get; }

    public Normalize(float[] mean, float[] std)
    {
        if (mean.Length != std.Length || mean.Length == 0) throw new ArgumentException("mean and std need one value per channel");
        if (std.Any(s => s <= 0)) throw new ArgumentException("std must be positive");
        Mean = mean; Std = std;
    }

    /// <summary>ImageNet statistics (MoCo v1/v2).</summary>
    public static Normalize ImageNet => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
    /// <summary>The official CIFAR-10 demo's statistics.</summary>
    public static Normalize Cifar10 => new([0.4914f, 0.4822f, 0.4465f], [0.2023f, 0.1994f, 0.2010f]);
    /// <summary>Fashion-MNIST training-set statistics.</summary>
    public static Normalize FashionMnist => new([0.2860f], [0.3530f]);

    /// <summary>Default statistics for a channel count: ImageNet for RGB, Fashion-MNIST for grayscale.</summary>
    public static Normalize ForChannels(long channels) => channels == 1 ? FashionMnist : ImageNet;

    public Tensor Apply(Tensor images, Generator? generator = null)
    {
        long c = images.shape[1];
        if (c != Mean.Length) throw new UnsupException($"normalisation has {Mean.Length} channel statistics but the images have {c} channels");
        using var scope = NewDisposeScope();
        var m = tensor(Mean).to(images.dtype).to(images.device).view(1, -1, 1, 1);
        var s = tensor(Std).to(images.dtype).to(images.device).view(1, -1, 1, 1);
        return ((images - m) / s).MoveToOuterDisposeScope();
    }
}
