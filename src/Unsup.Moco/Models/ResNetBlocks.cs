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
        using var scope = NewDisposeScope();
        var identity = downsample is null ? x : downsample.call(x);
        var y = nn.functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        return nn.functional.relu(y.add_(identity)).MoveToOuterDisposeScope();
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
        using var scope = NewDisposeScope();
        var identity = downsample is null ? x : downsample.call(x);
        var y = nn.functional.relu(bn1.call(conv1.call(x)));
        y = nn.functional.relu(bn2.call(conv2.call(y)));
        y = bn3.call(conv3.call(y));
        return nn.functional.relu(y.add_(identity)).MoveToOuterDisposeScope();
    }
}
