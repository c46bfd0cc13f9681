using System.Globalization;
using TorchSharp;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Models;

public class ResNetTests
{
    static string Describe(IEnumerable<(string name, Tensor t)> entries) =>
        string.Join("\n", entries.Select(e => e.name + " " + string.Join(",", e.t.shape)).Select(s => s.TrimEnd()).OrderBy(s => s, StringComparer.Ordinal));

    [SkippableTheory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    public void State_dict_names_and_shapes_equal_torchvision(string arch)
    {
        var py = TestData.Python($$"""
            import torchvision
            m = torchvision.models.{{arch}}()
            for k, v in m.state_dict().items():
                print(k, ",".join(str(s) for s in v.shape))
            """, "torch", "torchvision");
        var expected = string.Join("\n", py.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).OrderBy(s => s, StringComparer.Ordinal));
        using var net = new ResNet(ResNetOptions.Parse(arch) with { NumClasses = 1000 });
        var ours = Describe(net.state_dict().Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(expected, ours);
    }

    [Theory]
    [InlineData(18, 1, true, 32)]
    [InlineData(34, 3, false, 64)]
    [InlineData(50, 3, true, 28)]
    public void Features_have_width_times_8_times_expansion(int depth, int channels, bool cifar, int size)
    {
        using var net = new ResNet(new ResNetOptions(depth, Width: 4, InChannels: channels, CifarStem: cifar));
        net.eval();
        using var x = rand(2, channels, size, size);
        using var f = net.Features(x);
        Assert.Equal(new long[] { 2, depth == 50 ? 4 * 8 * 4 : 4 * 8 }, f.shape);
        using var y = net.call(x); // no fc: identity
        Assert.True(y.allclose(f));
    }

    [Theory]
    [InlineData(3, true, "expected 1 or 2")]
    [InlineData(2, false, "CIFAR stem only")]
    public void Stem_stride_other_than_1_or_2_or_on_the_ImageNet_stem_is_a_user_error(int stride, bool cifar, string message)
    {
        var e = Assert.Throws<UnsupException>(() => new ResNet(new ResNetOptions(18, Width: 4, CifarStem: cifar, StemStride: stride)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Unknown_arch_is_a_user_error()
    {
        var e = Assert.Throws<UnsupException>(() => ResNetOptions.Parse("vgg16"));
        Assert.Contains("--arch vgg16", e.Message);
    }
}

public class ResNetTorchvisionWeightsTests
{
    [SkippableFact]
    public void Torchvision_resnet18_weights_load_by_name_and_give_the_same_output()
    {
        using var dir = TestData.Temp();
        var pth = dir.File("r18.pth");
        var py = TestData.Python($$"""
            import torch, torchvision
            torch.manual_seed(0)
            m = torchvision.models.resnet18(num_classes=10)
            # non-trivial BN statistics so eval-mode BN is exercised
            for mod in m.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
                    mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.1, 0.1)
            m.eval()
            torch.save(m.state_dict(), r"{{pth}}")
            x = torch.linspace(-1, 1, 2 * 3 * 64 * 64).view(2, 3, 64, 64)
            with torch.no_grad():
                y = m(x)
            print(" ".join(repr(float(v)) for v in y.flatten()))
            """, "torch", "torchvision");
        var expected = py.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        using var net = new ResNet(new ResNetOptions(18, NumClasses: 10));
        TorchSharp.PyBridge.PyBridgeModuleExtensions.load_py(net, pth);
        net.eval();
        using var x = linspace(-1, 1, 2 * 3 * 64 * 64).view(2, 3, 64, 64);
        using var _ = no_grad();
        using var y = net.call(x);
        var got = y.data<float>().ToArray();
        Assert.Equal(expected.Length, got.Length);
        float worst = expected.Zip(got).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst < 1e-4f, $"max difference {worst}");
    }
}
