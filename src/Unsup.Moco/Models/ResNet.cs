using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Models;

/// <summary>Shape of a ResNet: depth and the options a CPU-sized or small-image run needs.</summary>
/// <param name="Depth">18, 34 or 50.</param>
/// <param name="Width">Channels of the stem and layer1 (torchvision: 64). layer2..4 double it each time.</param>
/// <param name="InChannels">1 (grayscale) or 3.</param>
/// <param name="CifarStem">3x3 stride-1 conv1 and no max-pool (for 28..64-pixel images), as in the official CIFAR-10 demo.</param>
/// <param name="NumClasses">Output size of fc; 0 = no fc (the network returns pooled features).</param>
/// <param name="StemStride">Stride of the CIFAR stem's conv (1 as the demo; 2 halves every later feature map, a quarter of
/// the compute per image, so a CPU run can afford twice the width). The ImageNet stem is always 7x7 stride 2 + max-pool.</param>
public sealed record ResNetOptions(int Depth = 18, int Width = 64, int InChannels = 3, bool CifarStem = false, int NumClasses = 0, int StemStride = 1)
{
    public static ResNetOptions Parse(string arch, int width = 64, int inChannels = 3, bool cifarStem = false, int stemStride = 1) =>
        new(arch.ToLowerInvariant() switch
        {
            "resnet18" => 18,
            "resnet34" => 34,
            "resnet50" => 50,
            _ => throw new UnsupException($"--arch {arch}: expected resnet18, resnet34 or resnet50"),
        }, width, inChannels, cifarStem, StemStride: stemStride);

    /// <summary>Rejects a stem stride the network cannot be built with (before any data is loaded, and in the constructor).</summary>
    public ResNetOptions CheckStem()
    {
        if (StemStride is not (1 or 2))
            throw new UnsupException($"--stem-stride {StemStride}: expected 1 or 2");
        if (StemStride != 1 && !CifarStem)
            throw new UnsupException($"--stem-stride {StemStride}: applies to the CIFAR stem only (add --cifar-stem; the ImageNet stem is 7x7 stride 2 + max-pool)");
        return this;
    }

    /// <summary>"CIFAR", "CIFAR stride-2" or "ImageNet", for messages.</summary>
    public string StemName => !CifarStem ? "ImageNet" : StemStride == 1 ? "CIFAR" : $"CIFAR stride-{StemStride}";

    internal (bool bottleneck, int[] blocks) Layout => Depth switch
    {
        18 => (false, [2, 2, 2, 2]),
        34 => (false, [3, 4, 6, 3]),
        50 => (true, [3, 4, 6, 3]),
        _ => throw new UnsupException($"ResNet depth {Depth}: expected 18, 34 or 50"),
    };

    /// <summary>Size of the pooled feature vector (input of fc).</summary>
    public int FeatureDim => Width * 8 * (Layout.bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion);
}

/// <summary>
/// torchvision's ResNet with the same module tree and parameter names (conv1 bn1 layer1..layer4 fc;
/// blocks conv1 bn1 conv2 bn2 [conv3 bn3] downsample.0 downsample.1), so PyTorch state dicts map one to one.
/// <see cref="Features"/> gives the globally pooled features; <c>forward</c> applies fc to them.
/// </summary>
public sealed class ResNet : nn.Module<Tensor, Tensor>
{
    public ResNetOptions Options { get; }
    public int FeatureDim => Options.FeatureDim;

#pragma warning disable IDE1006
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, layer1, layer2, layer3, layer4, fc;
#pragma warning restore IDE1006

    /// <param name="options">Depth, width, channels, stem.</param>
    /// <param name="norm">Normalisation layer; default BatchNorm2d.</param>
    /// <param name="head">Replaces fc (e.g. MoCo's projection head); default Linear(FeatureDim, NumClasses) or none.</param>
    public ResNet(ResNetOptions options, NormLayerFactory? norm = null, nn.Module<Tensor, Tensor>? head = null) : base(nameof(ResNet))
    {
        Options = options.CheckStem();
        norm ??= c => nn.BatchNorm2d(c);
        var (bottleneck, blocks) = options.Layout;
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        long w = options.Width;

        conv1 = options.CifarStem
            ? nn.Conv2d(options.InChannels, w, 3, stride: options.StemStride, padding: 1, bias: false)
            : nn.Conv2d(options.InChannels, w, 7, stride: 2, padding: 3, bias: false);
        bn1 = norm(w);
        long inPlanes = w;
        nn.Module<Tensor, Tensor> MakeLayer(long planes, int count, long stride)
        {
            var list = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < count; i++)
            {
                long s = i == 0 ? stride : 1;
                nn.Module<Tensor, Tensor>? down = null;
                if (i == 0 && (s != 1 || inPlanes != planes * expansion))
                    down = nn.Sequential(nn.Conv2d(inPlanes, planes * expansion, 1, stride: s, bias: false), norm(planes * expansion));
                list.Add(bottleneck ? new Bottleneck(inPlanes, planes, s, down, norm) : new BasicBlock(inPlanes, planes, s, down, norm));
                inPlanes = planes * expansion;
            }
            return nn.Sequential(list);
        }
        layer1 = MakeLayer(w, blocks[0], 1);
        layer2 = MakeLayer(w * 2, blocks[1], 2);
        layer3 = MakeLayer(w * 4, blocks[2], 2);
        layer4 = MakeLayer(w * 8, blocks[3], 2);
        fc = head ?? (options.NumClasses > 0 ? nn.Linear(options.FeatureDim, options.NumClasses) : nn.Identity());
        RegisterComponents();
        InitLikeTorchvision();
    }

    /// <summary>The projection/classifier on top of the pooled features.</summary>
    public nn.Module<Tensor, Tensor> Head => fc;

    /// <summary>Globally average-pooled features [N, FeatureDim] (what the kNN monitor and linear probe use).</summary>
    public Tensor Features(Tensor x)
    {
        // each intermediate released once consumed (Activations): eval-mode extraction peaks at PyTorch's memory
        var y = conv1.call(x).Into(bn1).relu_();
        if (!Options.CifarStem)
        {
            using var stem = y;
            y = nn.functional.max_pool2d(stem, 3, 2, 1);
        }
        y = y.Into(layer1).Into(layer2).Into(layer3).Into(layer4);
        using (y) return y.mean([2, 3]);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc.call(Features(x)).MoveToOuterDisposeScope();
    }

    private void InitLikeTorchvision()
    {
        using var _ = no_grad();
        foreach (var (name, m) in named_modules())
        {
            if (m is TorchSharp.Modules.Conv2d conv)
                nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        }
    }
}
