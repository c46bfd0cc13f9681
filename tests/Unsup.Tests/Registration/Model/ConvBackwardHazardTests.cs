using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Model;

/// <summary>
/// Guards the reported hazard (issue 6): NaN gradients in the first float32 backward pass through
/// conv3d → cat → conv3d on this machine's oneDNN. Checking against the same graph in float64 catches
/// not only NaN but any garbage read, which a finiteness check would miss.
/// </summary>
public class ConvBackwardHazardTests
{
    [Fact]
    public void Conv3dCatBackwardInFloat32MatchesFloat64()
    {
        const int seed = 0;
        using var scope = NewDisposeScope();
        manual_seed(seed);
        var convs = new[] { nn.Conv3d(2, 8, 3, padding: 1), nn.Conv3d(8, 8, 3, padding: 1), nn.Conv3d(16, 8, 3, padding: 1), nn.Conv3d(8, 8, 3, padding: 1) };
        var x = rand([1, 2, 64, 64, 64]);
        var g = randn([1, 8, 64, 64, 64]);

        Tensor Run(ScalarType dtype, out Tensor e)
        {
            var w = convs.Select(c => (c.weight!.detach().to(dtype).requires_grad_(true), c.bias!.detach().to(dtype).requires_grad_(true))).ToArray();
            Tensor Conv(Tensor t, int i) => nn.functional.conv3d(t, w[i].Item1, w[i].Item2, padding: [1, 1, 1]);
            e = Conv(Conv(x.to(dtype), 0), 1);
            e.retain_grad();
            var y = Conv(Conv(cat([e, e], 1), 2), 3);
            (y * g.to(dtype)).sum().backward();
            return w[0].Item1.grad!;
        }

        var w32 = Run(ScalarType.Float32, out var e32);
        var w64 = Run(ScalarType.Float64, out var e64);
        Assert.True(e32.grad!.isfinite().all().item<bool>(), "NaN/inf in the float32 activation gradient");
        Assert.True(w32.isfinite().all().item<bool>(), "NaN/inf in the float32 first-layer weight gradient");
        double relE = ((e32.grad!.to(ScalarType.Float64) - e64.grad!).abs().max() / e64.grad!.abs().max()).item<double>();
        double relW = ((w32.to(ScalarType.Float64) - w64).abs().max() / w64.abs().max()).item<double>();
        Assert.True(relE < 1e-4 && relW < 1e-3, $"float32 gradients deviate from float64: activation {relE:E2}, first-layer weight {relW:E2}");
    }
}
