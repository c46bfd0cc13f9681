using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Models;

/// <summary>Builds a normalisation layer for a channel count (BatchNorm2d, SplitBatchNorm...).</summary>
public delegate nn.Module<Tensor, Tensor> NormLayerFactory(long channels);

/// <summary>torchvision's BasicBlock (ResNet-18/34): two 3x3 convolutions; names conv1 bn1 conv2 bn2 downsample.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;
#pragma warning disable IDE1006
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;
#pragma warning restore IDE1006

    public BasicBlock(long inPlanes, long planes, long stride, nn.Module<Tensor, Tensor>? downsample, NormLayerFactory norm)
        : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
        bn1 = norm(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        bn2 = norm(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // torchvision's in-place ReLUs (batch norm's backward needs its input, not its output)
        var y = conv1.call(x).Into(bn1).relu_();
        y = y.Into(conv2).Into(bn2);
        return AddIdentity(y, x, downsample).relu_();
    }

    /// <summary>y += x, or y += downsample(x); the shortcut's own activation released at once.</summary>
    internal static Tensor AddIdentity(Tensor y, Tensor x, nn.Module<Tensor, Tensor>? downsample)
    {
        if (downsample is null) return y.add_(x);
        using var identity = downsample.call(x);
        return y.add_(identity);
    }
}

/// <summary>torchvision's Bottleneck (ResNet-50): 1x1, 3x3 (stride here, "ResNet v1.5"), 1x1 with 4x expansion.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;
#pragma warning disable IDE1006
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2, conv3, bn3;
    private readonly nn.Module<Tensor, Tensor>? downsample;
#pragma warning restore IDE1006

    public Bottleneck(long inPlanes, long planes, long stride, nn.Module<Tensor, Tensor>? downsample, NormLayerFactory norm)
        : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 1, bias: false);
        bn1 = norm(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = norm(planes);
        conv3 = nn.Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = norm(planes * Expansion);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = conv1.call(x).Into(bn1).relu_();
        y = y.Into(conv2).Into(bn2).relu_();
        y = y.Into(conv3).Into(bn3);
        return BasicBlock.AddIdentity(y, x, downsample).relu_();
    }
}
