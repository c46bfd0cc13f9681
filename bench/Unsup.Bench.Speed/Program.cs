using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Unsup.IO;
using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Evaluation;
using Unsup.Moco.Models;
using Unsup.Moco.Training;
using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Bench.Speed;

/// <summary>
/// The Unsup side of the speed suite (bench/run.sh). One process = one repetition of one row; prints one JSON line
/// with the same keys as bench/speed/reference.py prints for PyTorch, so run.sh can put them side by side.
/// </summary>
public static class Program
{
    const string Usage = """
        usage: unsup-bench-speed ROW [--threads N] [row options]
          gemm               [--n 2048]                                   fp32 GEMM GFLOP/s (the machine's ceiling)
          moco-step          [--width 64 --channels 3 --size 32 --batch 256 --queue 4096 --dim 128 --splits 8 --stem-stride 1 --mlp 0 --steps 3 --warmup 1]
          features           [--width 64 --channels 3 --size 32 --batch 256 --images 10000]   eval-mode backbone, img/s
          augment            [--size 28 --channels 1 --images 10000 --batch 256]             two MoCo views, img/s
          symnet-infer       --fixed A --moving B --weights W [--out DIR]  network / integration / warping / I/O seconds
          symnet-train-step  [--size 80x96x112 --channels 7 --steps 3 --warmup 1]            seconds per step
          symnet-refine-step [--size 80x80x112 --steps 5 --warmup 1 --scale 2]   one per-pair refinement step (no network): pass, loss, backward, Adam
          warp               [--size 160x192x224 --batch 4 --steps 7 --scale 3]   one integration of a smooth field (voxels ~ scale), s per squaring step
        """;

    public static int Main(string[] args)
    {
        NativeAllocator.Configure();   // as the CLI does: measure what users run
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        var o = Options.Parse(args[1..]);
        TorchRuntime.SetThreads(o.Int("threads", 2));
        manual_seed(0);
        var result = args[0] switch
        {
            "gemm" => Gemm(o),
            "moco-step" => MocoStep(o),
            "features" => Features(o),
            "augment" => Augment(o),
            "symnet-infer" => SymnetInfer(o),
            "symnet-train-step" => SymnetTrainStep(o),
            "symnet-refine-step" => SymnetRefineStep(o),
            "warp" => WarpRow(o),
            _ => throw new ArgumentException($"unknown row '{args[0]}'\n{Usage}"),
        };
        result["peak_mb"] = PeakMb();
        result["impl"] = "unsup";
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    static Dictionary<string, object> Gemm(Options o)
    {
        long n = o.Int("n", 2048);
        using var a = randn(n, n);
        using var b = randn(n, n);
        matmul(a, b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++) best = Math.Min(best, Time(() => matmul(a, b).Dispose()));
        return new() { ["gflop_s"] = 2.0 * n * n * n / best / 1e9 };
    }

    static Dictionary<string, object> MocoStep(Options o)
    {
        int batch = o.Int("batch", 256), size = o.Int("size", 32), channels = o.Int("channels", 3);
        using var model = new MocoModel(new ResNetOptions(18, o.Int("width", 64), channels, CifarStem: true, StemStride: o.Int("stem-stride", 1)),
            o.Int("dim", 128), o.Int("queue", 4096), 0.99, 0.1, mlp: o.Int("mlp", 0) == 1, symmetric: false, bnSplits: o.Int("splits", 8));
        model.train();
        using var opt = MocoOptimizer.Create(model.TrainableParameters(), 0.06, 0.9, 5e-4);
        var times = new List<double>();
        using var reuse = NativeAllocator.ReuseBlocksUpTo(MocoPretraining.ReusedBlockBytes);   // as `moco pretrain` does
        for (int i = 0; i < o.Int("warmup", 1) + o.Int("steps", 3); i++)
        {
            using var scope = NewDisposeScope();
            var x1 = randn(batch, channels, size, size);
            var x2 = randn(batch, channels, size, size);
            double t = Time(() =>
            {
                opt.zero_grad();
                using var output = model.forward(x1, x2);
                output.Loss.backward();
                opt.step();
                NativeAllocator.ReleaseFreed();   // as TrainingSession.CompleteStep does after every step
            });
            if (i >= o.Int("warmup", 1)) times.Add(t);
        }
        double sec = Median(times);
        return new() { ["sec_per_step"] = sec, ["img_s"] = batch / sec };
    }

    static Dictionary<string, object> Features(Options o)
    {
        int batch = o.Int("batch", 256), size = o.Int("size", 32), channels = o.Int("channels", 3), images = o.Int("images", 10000);
        using var net = new ResNet(new ResNetOptions(18, o.Int("width", 64), channels, CifarStem: true));
        using var x = randn(images, channels, size, size);
        // the extractor `moco knn/lincls/embed` and the kNN monitor use (eval mode, no grad, batches, input normalisation)
        var extractor = new EncoderFeatures(net, null, Normalize.ForChannels(channels), CPU, batch);
        extractor.Extract(x.narrow(0, 0, batch)).Dispose();
        double sec = Time(() => nn.functional.normalize(extractor.Extract(x), dim: 1).Dispose());
        return new() { ["seconds"] = sec, ["img_s"] = images / sec };
    }

    static Dictionary<string, object> Augment(Options o)
    {
        int size = o.Int("size", 28), channels = o.Int("channels", 1), images = o.Int("images", 10000), batch = o.Int("batch", 256);
        // the README's Fashion-MNIST recipe: the cifar preset's augmentation at 28 px, crops of area 0.2-1
        var config = MocoConfig.FromPreset("cifar") with { InChannels = channels, CropSize = size, CropScaleMin = 0.2 };
        var augmentation = config.BuildAugmentation(Normalize.ForChannels(channels));
        using var raw = randint(0, 256, [images, channels, size, size], dtype: ScalarType.Byte);
        using var g = new Generator(0);
        double sec = Time(() =>
        {
            for (int i = 0; i < images; i += batch)
            {
                using (NewDisposeScope()) augmentation.TwoViews(raw.narrow(0, i, Math.Min(batch, images - i)), g);
                NativeAllocator.CollectUndisposed();   // as the training loop's data pipeline does per batch
            }
        });
        return new() { ["seconds"] = sec, ["img_s"] = images / sec };
    }

    static Dictionary<string, object> SymnetInfer(Options o)
    {
        string fixedPath = o.Required("fixed"), movingPath = o.Required("moving"), weights = o.Required("weights");
        string outDir = o.String("out") ?? Path.Combine(Path.GetTempPath(), $"unsup-speed-{Environment.ProcessId}");
        Directory.CreateDirectory(outDir);
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        using var fixedImg = VolumeFile.Read(fixedPath);
        using var movingImg = VolumeFile.Read(movingPath);
        var fixedVox = fixedImg.ToFloat();
        var movingVox = movingImg.ToFloat();
        double read = sw.Elapsed.TotalSeconds;
        using var model = SymNetWeights.Create(weights);
        model.eval();
        using var noGrad = no_grad();
        var x = IntensityNormalization.MinMax(fixedVox.reshape([1, 1, .. fixedVox.shape]));
        var y = IntensityNormalization.MinMax(movingVox.reshape([1, 1, .. movingVox.shape]));
        Tensor vXY = null!, vYX = null!;
        double network = Time(() => (vXY, vYX) = SymNetPipeline.Velocities(model, x, y));
        SymNetFields fields = null!;
        double integration = Time(() => fields = SymNetPipeline.FromVelocities(vXY, vYX));
        Tensor moved = null!;
        double warping = Time(() => moved = SpatialTransformer.Warp(movingVox.reshape([1, 1, .. movingVox.shape]), fields.FullYX));
        sw.Restart();
        VolumeFile.Write(Path.Combine(outDir, "moved.nii.gz"), fixedImg.Like(moved[0, 0].clone()));
        VolumeFile.Write(Path.Combine(outDir, "forward_field.nii.gz"), fixedImg.VectorFieldLike(DisplacementLayout.ToChannelsLast(fields.FullYX)[0]));
        double write = sw.Elapsed.TotalSeconds;
        fields.Dispose();
        if (o.String("out") is null) Directory.Delete(outDir, recursive: true);
        return new()
        {
            ["network"] = network, ["integration"] = integration, ["warping"] = warping, ["io"] = read + write,
            ["total"] = network + integration + warping,
        };
    }

    /// <summary>The kernel alone: the integration symnet-infer spends most of its non-network time in.</summary>
    static Dictionary<string, object> WarpRow(Options o)
    {
        long[] shape = (o.String("size") ?? "160x192x224").Split('x').Select(long.Parse).ToArray();
        int steps = o.Int("steps", 7);
        using var noGrad = no_grad();
        // a smooth field of a few voxels, like the network's velocities
        using var v = nn.functional.interpolate(randn([o.Int("batch", 4), 3, 5, 6, 7]) * o.Int("scale", 3), [.. shape], mode: InterpolationMode.Trilinear, align_corners: true);
        DiffeomorphicTransform.Integrate(v, 1).Dispose();
        double sec = Time(() => DiffeomorphicTransform.Integrate(v, steps).Dispose());
        // the memory floor of one step: a fresh output, two field-sized reads (image, addend) and a write
        double add = Time(() => { for (int i = 0; i < steps; i++) (v + v).Dispose(); });
        return new() { ["seconds"] = sec, ["sec_per_warp"] = sec / steps, ["voxels_per_s"] = v.numel() / 3.0 * steps / sec, ["add_sec_per_step"] = add / steps };
    }

    static Dictionary<string, object> SymnetTrainStep(Options o)
    {
        long[] shape = (o.String("size") ?? "80x96x112").Split('x').Select(long.Parse).ToArray();
        using var model = new SymNet(o.Int("channels", 7), 3);
        model.train();
        using var adam = optim.Adam(model.parameters(), 1e-4);
        using var loss = new SymNetLoss(3);
        using var x = rand([1, 1, .. shape]);
        using var y = rand([1, 1, .. shape]);
        var times = new List<double>();
        for (int i = 0; i < o.Int("warmup", 1) + o.Int("steps", 3); i++)
        {
            double t = Time(() =>
            {
                using var scope = NewDisposeScope();
                adam.zero_grad();
                using var fields = SymNetPipeline.Forward(model, x, y);
                var terms = loss.Compute(x, y, fields);
                terms.Total.backward();
                adam.step();
            });
            if (i >= o.Int("warmup", 1)) times.Add(t);
        }
        return new() { ["sec_per_step"] = Median(times) };
    }

    // what `symnet register --refine` repeats: the network's velocities are the parameters, so a step is the
    // integration, compositions, warps and loss of the pass, their backward and Adam, timed part by part
    static Dictionary<string, object> SymnetRefineStep(Options o)
    {
        long[] shape = (o.String("size") ?? "80x80x112").Split('x').Select(long.Parse).ToArray();
        double scale = o.Double("scale", 2);
        using var x = rand([1, 1, .. shape]);
        using var y = rand([1, 1, .. shape]);
        // smooth velocities of a few voxels, like a network's, so the integration samples nearby voxels
        Tensor Smooth() => nn.functional.interpolate(randn([1, 3, 5, 6, 7]) * scale, [.. shape], mode: InterpolationMode.Trilinear, align_corners: true);
        using var vXY = new TorchSharp.Modules.Parameter(Smooth(), requires_grad: true);
        using var vYX = new TorchSharp.Modules.Parameter(Smooth(), requires_grad: true);
        using var adam = optim.Adam([vXY, vYX], lr: PairRefinement.DefaultLearningRate);
        using var loss = new SymNetLoss(3);
        // --reuse-mb N: blocks up to N MB stay in the heap between steps (0: every block above 2 MB is mapped afresh)
        using var reuse = NativeAllocator.ReuseBlocksUpTo(o.Int("reuse-mb", 0) << 20);
        var parts = new Dictionary<string, List<double>> { ["pass"] = [], ["loss"] = [], ["backward"] = [], ["adam"] = [], ["total"] = [] };
        for (int i = 0; i < o.Int("warmup", 1) + o.Int("steps", 5); i++)
        {
            using var scope = NewDisposeScope();
            SymNetFields? fields = null;
            SymNetLossTerms? terms = null;
            double tPass = Time(() => { adam.zero_grad(); fields = SymNetPipeline.FromVelocities(vXY, vYX); });
            double tLoss = Time(() => { terms = loss.Compute(x, y, fields!); terms.Total.item<float>(); });
            double tBack = Time(() => terms!.Total.backward());
            double tAdam = Time(() => adam.step());
            if (i < o.Int("warmup", 1)) continue;
            parts["pass"].Add(tPass); parts["loss"].Add(tLoss); parts["backward"].Add(tBack); parts["adam"].Add(tAdam);
            parts["total"].Add(tPass + tLoss + tBack + tAdam);
        }
        var result = new Dictionary<string, object> { ["sec_per_step"] = Median(parts["total"]) };
        foreach (var (k, v) in parts) if (k != "total") result[$"{k}_s"] = Median(v);
        return result;
    }

    static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    static double Median(List<double> xs)
    {
        var s = xs.OrderBy(v => v).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    // VmHWM, the peak resident set of this process (the same counter the PyTorch side reads)
    static double PeakMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            // "VmHWM:\t 812345 kB", or with no space after the tab from 10 GB on
            if (line.StartsWith("VmHWM")) return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }
}

/// <summary>`--name value` pairs of one row.</summary>
sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--") || i + 1 >= args.Length) throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
            d[args[i][2..]] = args[i + 1];
        }
        return new Options(d);
    }

    public string? String(string name) => values.GetValueOrDefault(name);
    public string Required(string name) => String(name) ?? throw new ArgumentException($"--{name} is required");
    public int Int(string name, int dflt) => values.TryGetValue(name, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : dflt;
    public double Double(string name, double dflt) => values.TryGetValue(name, out var s) ? double.Parse(s, CultureInfo.InvariantCulture) : dflt;
}
