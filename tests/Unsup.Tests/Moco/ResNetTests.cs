using System.Globalization;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

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

    [Fact]
    public void Unknown_arch_is_a_user_error()
    {
        var e = Assert.Throws<UnsupException>(() => ResNetOptions.Parse("vgg16"));
        Assert.Contains("--arch vgg16", e.Message);
    }
}
