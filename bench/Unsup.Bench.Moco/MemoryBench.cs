using System.Diagnostics;
using System.Globalization;
using Unsup.Moco;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Bench.Moco;

/// <summary>
/// Peak RSS of a few MoCo steps (CIFAR ResNet-18 at width 64, split BN, queue K, random 32x32 inputs) in Unsup,
/// next to the same steps in PyTorch (memory_pytorch.py, its own process). Table in OUT/memory.md.
/// </summary>
public static class MemoryBench
{
    public static int Run(BenchArgs a, string outDir)
    {
        int steps = a.Int("steps", 3), batch = a.Int("batch", 256), splits = a.Int("splits", 8), queue = a.Int("queue", 4096);
        int threads = a.Int("threads", 2);
        if (steps < 1 || batch < 1 || splits < 1 || batch % splits != 0 || queue % batch != 0)
            throw new ArgumentException($"--steps {steps} --batch {batch} --splits {splits} --queue {queue}: needs steps >= 1, batch divisible by splits, queue by batch");

        manual_seed(0);
        long baseline = Environment.WorkingSet;
        var sw = Stopwatch.StartNew();
        using (var model = new MocoModel(new ResNetOptions(18, 64, 3, CifarStem: true), 128, queue, 0.99, 0.1, false, false, splits))
        {
            model.train();
            using var opt = MocoOptimizer.Create(model.TrainableParameters(), 0.06, 0.9, 5e-4);
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                var x1 = randn(batch, 3, 32, 32); var x2 = randn(batch, 3, 32, 32);
                opt.zero_grad();
                using var o = model.forward(x1, x2);
                o.Loss.backward();
                opt.step();
            }
        }
        double unsupSpeed = steps * batch / sw.Elapsed.TotalSeconds;
        using var self = Process.GetCurrentProcess();
        long unsupPeak = self.PeakWorkingSet64;   // VmHWM of this process
        Console.WriteLine($"Unsup (TorchSharp): baseline {baseline >> 20} MB, peak {unsupPeak >> 20} MB, {unsupSpeed:F1} img/s");

        var py = PythonScript.Run("memory_pytorch.py", "--steps", $"{steps}", "--batch", $"{batch}", "--splits", $"{splits}",
                                  "--queue", $"{queue}", "--threads", $"{threads}").Trim().Split(' ');
        if (py.Length != 4) throw new UnsupException($"memory_pytorch.py printed '{string.Join(' ', py)}', expected 'baseline peak img/s version'");
        long pyBase = long.Parse(py[0], CultureInfo.InvariantCulture), pyPeak = long.Parse(py[1], CultureInfo.InvariantCulture);
        double pySpeed = double.Parse(py[2], CultureInfo.InvariantCulture);
        Console.WriteLine($"PyTorch: baseline {pyBase} MB, peak {pyPeak} MB, {pySpeed:F1} img/s");

        var table = new ResultTable("", "baseline MB", "peak MB", "images/s");
        table.Add("Unsup (TorchSharp)", $"{baseline >> 20}", $"{unsupPeak >> 20}", $"{unsupSpeed:F1}");
        table.Add($"PyTorch {py[3]}", $"{pyBase}", $"{pyPeak}", $"{pySpeed:F1}");
        table.Write(Path.Combine(outDir, "memory.md"), "Peak memory of MoCo steps (unsup-bench-moco memory)",
        [
            $"{steps} steps, CIFAR ResNet-18 width 64, batch {batch}, {splits} BN splits, K {queue}, random 32x32 inputs, {threads} threads. " +
            $"Peak ratio Unsup / PyTorch: {(double)(unsupPeak >> 20) / pyPeak:F2}x. {DateTime.Now:yyyy-MM-dd}.",
        ]);
        return 0;
    }
}
