using System.Diagnostics;
using System.Globalization;
using System.Text;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Synthesis;
using Unsup.Registration.Training;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Bench.Registration;

/// <summary>
/// bench/registration: registration methods on held-out pairs of real-anatomy label maps with synthesised
/// T1-like images, by mean Dice (± std over pairs), % voxels with det J ≤ 0 and seconds per pair.
/// </summary>
public static class Program
{
    const string Usage = """
        usage: unsup-bench-registration --label-maps DIR_OR_LIST --out DIR [options]
          --label-maps   label maps (folder or list); the last --val are the evaluation subjects (all ordered pairs)
          --out          results folder: registration.md, registration.png, pairs.csv, work/
          --model PATH   SYMNet weights trained by Unsup from scratch (a model.pth or run folder; row skipped if absent)
          --finetuned PATH  SYMNet weights fine-tuned by Unsup from the official ones (row skipped if absent)
          --official PATH  the official pretrained SYMNet weights (row skipped if absent)
          --priors DIR   SynthSeg priors folder (default: Unsup's built-in T1 contrast)
          --crop brain|XxYxZ  (default brain)   --downsample F (default 3)   --val N (default 3)
          --seed S       synthesis seed of the evaluation images (subject k: S + k; default 5000000)
          --threads N    threads for SYMNet and elastix (default 2)
          --no-elastix   skip the elastix row
        """;

    public static int Main(string[] args)
    {
        try { return Run(Args.Parse(args)); }
        catch (UnsupException e) { Console.Error.WriteLine($"unsup-bench-registration: {e.Message}"); return 1; }
        catch (ArgumentException e) { Console.Error.WriteLine($"{e.Message}\n{Usage}"); return 2; }
    }

    sealed record Pair(int Fixed, int Moving, string Name);

    static int Run(Args a)
    {
        Unsup.TorchRuntime.SetThreads(a.Threads);
        var paths = ImageList.Resolve(a.LabelMaps).Select(Path.GetFullPath).ToList();
        if (paths.Count < a.Val || a.Val < 2) throw new UnsupException($"--val {a.Val}: needs 2..{paths.Count} evaluation subjects");
        var geometry = new LabelMapGeometry { CropSize = a.Crop, Downsample = a.Downsample };
        using var maps = LabelMapPreparation.Load(paths, geometry);
        var synth = new LabelImageSynthesizer(a.Priors is null ? LabelIntensityPriors.T1SkullStripped() : LabelIntensityPriors.FromSynthSegFolder(a.Priors))
        {
            ZeroBackground = true,   // brain-only maps: skull-stripped images, as the networks are trained on
        };
        int first = maps.Count - a.Val;
        var evalLabels = EvaluationLabels.For(Enumerable.Range(0, maps.Count).Select(i => maps.Labels[i]));

        // the evaluation subjects' images and labels as files (elastix reads files; SYMNet reads the same tensors)
        string work = Path.Combine(a.Out, "work");
        Directory.CreateDirectory(work);
        var imageFiles = new Dictionary<int, string>();
        var labelFiles = new Dictionary<int, string>();
        var images = new Dictionary<int, Tensor>();
        for (int s = first; s < maps.Count; s++)
        {
            var img = synth.Synthesize(maps.Labels[s], a.Seed + s);
            images[s] = img;
            string stem = maps.Names[s].Replace(".nii.gz", "").Replace(".nii", "");
            imageFiles[s] = Path.Combine(work, $"{stem}_t1.nii.gz");
            labelFiles[s] = Path.Combine(work, $"{stem}_labels.nii.gz");
            NiftiWriter.Write(imageFiles[s], NiftiImage.Create(img, maps.Affines[s], "bench synthesised T1"));
            NiftiWriter.Write(labelFiles[s], NiftiImage.Create(maps.Labels[s].to(ScalarType.Int32), maps.Affines[s], "bench labels", NiftiIntent.Label));
        }
        var pairs = new List<Pair>();
        for (int f = first; f < maps.Count; f++)
            for (int m = first; m < maps.Count; m++)
                if (f != m) pairs.Add(new Pair(f, m, $"{Short(maps.Names[f])}<-{Short(maps.Names[m])}"));
        Console.WriteLine($"{pairs.Count} ordered pairs of {a.Val} held-out subjects ({string.Join(", ", Enumerable.Range(first, a.Val).Select(i => maps.Names[i]))}), " +
                          $"grid {string.Join("x", maps.Spatial)} ({a.Downsample} mm if the maps are 1 mm), Dice over {evalLabels.Count} labels");

        var rows = new List<BenchRow>();
        var csv = new StringBuilder("method,pair,dice,fold_percent,seconds\n");
        void Add(string method, IReadOnlyList<(double Dice, double Fold, double Seconds)> r, string note, bool timed = true)
        {
            rows.Add(new BenchRow(method, r.Select(x => x.Dice).ToList(), r.Select(x => x.Fold).ToList(), timed ? r.Select(x => x.Seconds).ToList() : [], note));
            for (int i = 0; i < r.Count; i++)
                csv.Append(CultureInfo.InvariantCulture, $"{method},{pairs[i].Name},{r[i].Dice:F5},{r[i].Fold:F5},{r[i].Seconds:F3}\n");
            var (mean, std, _) = BenchReport.Summary(r.Select(x => x.Dice));
            Console.WriteLine($"{method}: Dice {mean:F4} ± {std:F4}, det J <= 0 {r.Average(x => x.Fold):F4}%, {r.Average(x => x.Seconds):F2} s/pair");
        }

        Add("no registration", pairs.Select(p => (Dice.Mean(maps.Labels[p.Moving], maps.Labels[p.Fixed], evalLabels), 0.0, 0.0)).ToList(),
            "moving labels as they are (crops centred on each brain)", timed: false);
        foreach (var (model, method) in new[] { (a.Model, "SYMNet, trained by Unsup"), (a.Finetuned, "SYMNet, fine-tuned by Unsup") })
        {
            if (model is not null && (File.Exists(model) || Directory.Exists(model)))
                Add(method, SymNetRows(model, pairs, images, maps, evalLabels), DescribeRun(model, maps.Count - a.Val));
            else Console.WriteLine($"{method}: skipped (no weights given)");
        }
        if (a.Official is string official && File.Exists(official))
            Add("SYMNet, official weights", SymNetRows(official, pairs, images, maps, evalLabels), "trained on neurite-OASIS scans at 1 mm: domain shift");
        else Console.WriteLine("official SYMNet: skipped (no --official)");
        if (!a.NoElastix)
        {
            var elastix = ElastixRegistration.Default(a.Threads);
            var r = new List<(double, double, double)>();
            foreach (var p in pairs)
            {
                using var scope = NewDisposeScope();
                using var res = elastix.Register(imageFiles[p.Fixed], imageFiles[p.Moving], labelFiles[p.Moving], Path.Combine(work, "elastix", p.Name.Replace("<-", "_from_")), p.Name);
                r.Add((Dice.Mean(res.WarpedLabels, maps.Labels[p.Fixed], evalLabels), res.FoldingPercent, res.RegistrationSeconds + res.WarpSeconds));
            }
            Add("elastix affine + B-spline", r, "bench/registration/elastix/*.txt, Mattes MI");
        }

        string cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim() ?? "?" : "?";
        string preamble = $"{pairs.Count} ordered pairs (fixed<-moving) of the held-out subjects {string.Join(", ", Enumerable.Range(first, a.Val).Select(i => maps.Names[i]))}; " +
                          $"grid {string.Join("x", maps.Spatial)} (brain crop, downsampled x{a.Downsample}); images synthesised with seed {a.Seed} + subject index " +
                          $"({(a.Priors is null ? "built-in T1 contrast" : "SynthSeg T1 priors")}). Dice: mean over {(evalLabels.All(EvaluationLabels.FreeSurfer30.Contains) && evalLabels.Count >= EvaluationLabels.MinimumFreeSurferLabels ? $"the {evalLabels.Count} of VoxelMorph's 30 FreeSurfer evaluation structures present in every subject" : $"the {evalLabels.Count} labels present in every subject")} " +
                          $"({string.Join(", ", evalLabels)}); % det J <= 0 over the whole grid; s/pair: wall time of registration and label warping " +
                          $"with {a.Threads} threads on {cpu}, {Environment.ProcessorCount} cores. Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
        BenchReport.WriteMarkdown(Path.Combine(a.Out, "registration.md"), rows, "Registration on held-out real anatomy", preamble);
        BenchReport.WriteChart(Path.Combine(a.Out, "registration.png"), rows, "Held-out pairs: Dice and seconds per pair", panelWidth: 780);
        AtomicFile.WriteAllText(Path.Combine(a.Out, "pairs.csv"), csv.ToString());
        Console.WriteLine($"wrote {Path.Combine(a.Out, "registration.md")}, registration.png, pairs.csv");
        foreach (var t in images.Values) t.Dispose();
        return 0;
    }

    static List<(double, double, double)> SymNetRows(string weights, List<Pair> pairs, Dictionary<int, Tensor> images, PreparedLabelMaps maps, IReadOnlyList<long> labels)
    {
        using var reg = SymNetRegistration.FromWeights(weights);
        var spatial = maps.Spatial;
        var rows = new List<(double, double, double)>();
        foreach (var p in pairs)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            using var result = reg.Register(images[p.Fixed], images[p.Moving]);
            var warped = SpatialTransformer.Warp(maps.Labels[p.Moving].reshape([1, 1, .. spatial]), result.Forward, Interpolation.Nearest);
            double seconds = sw.Elapsed.TotalSeconds;
            double fold = DeformationMetrics.PercentNonPositiveJacobian(result.Forward)[0];
            rows.Add((Dice.Mean(warped.reshape(spatial), maps.Labels[p.Fixed], labels), fold, seconds));
        }
        return rows;
    }

    /// <summary>What the run folder beside the weights says about how they were trained.</summary>
    static string DescribeRun(string weights, int trainSubjects)
    {
        string dir = Directory.Exists(weights) ? weights : Path.GetDirectoryName(Path.GetFullPath(weights))!;
        string config = Path.Combine(dir, "config.json");
        if (!File.Exists(config)) return $"weights {Path.GetFileName(weights)}";
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config));
        var root = doc.RootElement;
        long steps = root.TryGetProperty("steps", out var st) ? st.GetInt64() : 0;
        // a run stopped early and finished with --resume --steps N records the steps it ran in summary.json
        string summary = Path.Combine(dir, "summary.json");
        if (File.Exists(summary))
        {
            using var sdoc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(summary));
            if (sdoc.RootElement.TryGetProperty("steps", out var done)) steps = done.GetInt64();
        }
        bool init = root.TryGetProperty("init", out var i) && i.ValueKind == System.Text.Json.JsonValueKind.String;
        double lr = root.TryGetProperty("lr", out var l) ? l.GetDouble() : double.NaN;
        return (init ? "official weights fine-tuned" : "from scratch") +
               $", {steps} steps (Adam {lr.ToString("G2", CultureInfo.InvariantCulture)}) on pairs synthesised afresh from the {trainSubjects} other subjects";
    }

    static string Short(string name) => name.Replace("training_seg_", "").Replace(".nii.gz", "").Replace(".nii", "");

    sealed record Args(string LabelMaps, string Out, string? Model, string? Finetuned, string? Official, string? Priors, long[]? Crop, int Downsample, int Val, long Seed, int Threads, bool NoElastix)
    {
        public static Args Parse(string[] args)
        {
            var v = new Dictionary<string, string>();
            bool noElastix = false;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--no-elastix") { noElastix = true; continue; }
                if (!args[i].StartsWith("--") || i + 1 >= args.Length) throw new ArgumentException($"unexpected argument {args[i]}");
                v[args[i]] = args[++i];
            }
            string Need(string k) => v.TryGetValue(k, out var s) ? s : throw new ArgumentException($"{k} is required");
            int Int(string k, int d) => v.TryGetValue(k, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : d;
            long[]? crop = v.TryGetValue("--crop", out var c) && !c.Equals("brain", StringComparison.OrdinalIgnoreCase)
                ? c.Split('x').Select(long.Parse).ToArray() : null;
            return new Args(Need("--label-maps"), Path.GetFullPath(Need("--out")), v.GetValueOrDefault("--model"), v.GetValueOrDefault("--finetuned"), v.GetValueOrDefault("--official"),
                v.GetValueOrDefault("--priors"), crop, Int("--downsample", 3), Int("--val", 3),
                v.TryGetValue("--seed", out var sd) ? long.Parse(sd, CultureInfo.InvariantCulture) : 5_000_000, Int("--threads", 2), noElastix);
        }
    }
}
