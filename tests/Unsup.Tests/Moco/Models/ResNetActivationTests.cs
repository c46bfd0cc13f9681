using TorchSharp;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Models;

[Collection(ProcessCountersCollection.Name)]
public class ResNetActivationTests
{
    /// <summary>Records the live tensor handles each time a normalisation layer runs.</summary>
    sealed class LiveHandleProbe(long channels, List<long> counts) : nn.Module<Tensor, Tensor>(nameof(LiveHandleProbe))
    {
        readonly nn.Module<Tensor, Tensor> bn = nn.BatchNorm2d(channels);
        public override Tensor forward(Tensor x) { counts.Add(Tensor.TotalCount); return bn.call(x); }
    }

    [Theory]
    [InlineData(18, true, false)]
    [InlineData(18, false, true)]
    [InlineData(50, false, false)]
    public void Forward_holds_a_bounded_number_of_activations_at_any_depth(int depth, bool training, bool cifarStem)
    {
        // PyTorch frees an activation after its last use; a TorchSharp handle left to a dispose scope would keep every
        // stage's output alive until the pass ends (the live count would grow with depth, about one per block)
        var counts = new List<long>();
        using var net = new ResNet(new ResNetOptions(depth, Width: 4, InChannels: 1, CifarStem: cifarStem), c => new LiveHandleProbe(c, counts));
        net.train(training);
        using var x = rand(2, 1, 32, 32);
        using var grad = set_grad_enabled(training);
        // earlier tests' undisposed handles are finalized whenever a collection runs: drain them before counting
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using (NewDisposeScope())
        {
            var f = net.Features(x);
            if (training) f.sum().backward();
        }
        Assert.Equal(depth == 18 ? 20 : 53, counts.Count);
        Assert.True(counts.Max() - counts.Min() <= 3, $"live handles across the pass: {string.Join(",", counts)}");
    }
}
