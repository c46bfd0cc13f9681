namespace Unsup.Bench.Moco;

/// <summary>
/// MoCo benchmarks as one console program: `fashion-mnist` (a timed pretraining run, kNN before and after),
/// `supervised` (the same encoder trained with labels) and `memory` (peak RSS of a few MoCo steps against the same
/// steps in PyTorch). Each prints a table and writes
/// OUT/&lt;verb&gt;.md (default OUT: bench/results/moco of the repository).
/// </summary>
public static class Program
{
    public const string Usage = """
        usage: unsup-bench-moco fashion-mnist [options]   timed MoCo pretraining on Fashion-MNIST, kNN at random init and after
                 --data DIR (default /usr/share/datasets/fashion-mnist)  --minutes M (12)  --epochs N (10)  --width W (16)
                 --batch B (256)  --bank N (10000)  --test N (2000)  --train N (all 60000)  --log-every S (20)
                 --preview PNG  --raw-k1
               unsup-bench-moco memory [options]          peak RSS of MoCo steps, Unsup vs PyTorch (python3 with torch, torchvision)
                 --steps N (3)  --batch B (256)  --width W (64)  --splits S (8)  --queue K (4096)
               unsup-bench-moco supervised [options]      the same encoder trained with labels (the supervised upper bound)
                 --data DIR  --width W (16)  --stem-stride S (1)  --epochs N (15)  --batch B (256)  --lr LR (0.1)  --crop-min-scale S (0.5)  --minutes M (120)
        common:  --out DIR (default bench/results/moco)  --threads N (2)
        environment: UNSUP_PYTHON (default /usr/bin/python3)
        """;

    public static int Main(string[] args)
    {
        NativeAllocator.Configure();   // as the CLI does: measure what users run
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
            var options = BenchArgs.Parse(args[1..]);
            Unsup.TorchRuntime.SetThreads(options.Int("threads", 2));
            string outDir = options.String("out") ?? DefaultOut();
            return args[0] switch
            {
                "fashion-mnist" => FashionMnistBench.Run(options, outDir),
                "memory" => MemoryBench.Run(options, outDir),
                "supervised" => SupervisedBench.Run(options, outDir),
                _ => throw new ArgumentException($"unknown verb '{args[0]}'"),
            };
        }
        catch (UnsupException e) { Console.Error.WriteLine($"unsup-bench-moco: {e.Message}"); return 1; }
        catch (ArgumentException e) { Console.Error.WriteLine($"unsup-bench-moco: {e.Message}\n{Usage}"); return 2; }
    }

    /// <summary>bench/results/moco of the repository this binary was built in, else ./bench-results/moco.</summary>
    static string DefaultOut()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Unsup.slnx"))) return Path.Combine(d.FullName, "bench", "results", "moco");
        return Path.GetFullPath(Path.Combine("bench-results", "moco"));
    }
}
