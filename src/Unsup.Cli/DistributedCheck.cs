using System.Globalization;
using Unsup.Distributed;
using Unsup.IO;
using static TorchSharp.torch;

namespace Unsup.Cli;

/// <summary>
/// `unsup dev ddp-check`: a few SGD steps of a small MLP (no batch norm) on fixed synthetic data with a global batch,
/// sharded over however many ranks the launcher started and averaged through <see cref="GradientAverager"/> (tiny
/// buckets, so several allreduce calls per step). Rank 0 writes the final weights, one number per line: the same file
/// for any number of ranks, up to float rounding, is the data-parallel equivalence the tests check.
/// </summary>
public static class DistributedCheck
{
    public static void Run(string outPath, int steps, int globalBatch, long seed)
    {
        var comm = Communicator.World;
        TorchRuntime.Seed(seed);
        using var model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3));
        using var opt = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        var averager = new GradientAverager(comm, model.parameters(), bucketBytes: 512);
        var x = randn(steps * globalBatch, 6);
        var y = stack([x[.., 0] * x[.., 1], x[.., 2].sin(), x[.., 3] - x[.., 4]], 1);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var bx = comm.ShareOfRows(x.narrow(0, s * globalBatch, globalBatch));
            var by = comm.ShareOfRows(y.narrow(0, s * globalBatch, globalBatch));
            opt.zero_grad();
            var loss = nn.functional.mse_loss(model.call(bx), by);
            loss.backward();
            averager.Average();
            opt.step();
        }
        if (!comm.IsRoot) return;
        var flat = cat(model.parameters().Select(p => p.detach().reshape(-1)).ToList()).data<float>().ToArray();
        AtomicFile.WriteAllText(outPath, string.Join("\n", flat.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "\n");
        Console.WriteLine($"{comm.Size} rank(s), {averager.Buckets} buckets, {averager.Elements} floats per allreduce round; wrote {outPath}");
    }
}
