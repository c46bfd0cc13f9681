using System.Diagnostics;
using System.Globalization;
using System.Text;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Losses;
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
               unsup-bench-registration label-fit ...   (one pair by the label term alone; see its usage)
          --label-maps   label maps (folder or list); the last --val are the evaluation subjects
          --out          results folder: registration.md, registration.png, pairs.csv, work/ (work/pair-results-*.tsv keeps
                         every finished (method, pair) result: a repeated or resumed run reuses those whose inputs,
                         parameter files and weights are unchanged; delete the file to measure everything again)
          --model PATH   SYMNet weights trained by Unsup from scratch (a model.pth or run folder; row skipped if absent)
          --finetuned PATH  SYMNet weights fine-tuned by Unsup from the official ones (row skipped if absent)
          --official PATH  the official pretrained SYMNet weights (row skipped if absent)
          --priors DIR   SynthSeg priors folder (default: Unsup's built-in T1 contrast)
          --crop brain|XxYxZ  (default brain)   --downsample F (default 2)   --val N (default 3)
          --contrasts V  syntheses per held-out subject, each with its own seed (default 3): pairs are every
                         (subject a, synthesis i) <- (subject b, synthesis j) with a != b, V*V*val*(val-1) in all
          --max-pairs N  at most N of those pairs, a seeded random subset (default all; for smoke tests)
          --seed S       synthesis seed: subject k, synthesis v uses S + 1000 v + k (default 5000000)
          --refine N     per-pair refinement steps of the "+ refinement" SYMNet rows (default 50; 0 drops those rows)
          --refine-lr R  its Adam rate (default PairRefinement.DefaultLearningRate)
          --refine-blur S  its NCC terms on images blurred by a Gaussian of S voxels (SymNetLoss.SimilarityBlur; default 0)
          --dice-labels auto|freesurfer|all|FILE  Dice labels (default auto, see EvaluationLabels)
          --dipy-iters I,J,K  DIPY SyN iterations per level (default 100,50,25)
          --threads N    threads for every method (default 2)
          --no-elastix, --no-dipy  skip those rows
        """;

    public static int Main(string[] args)
    {
        NativeAllocator.Configure();   // as the CLI does: measure what users run
        try { return args.Length > 0 && args[0] == "label-fit" ? LabelFit.Run(args[1..]) : Run(Args.Parse(args)); }
        catch (UnsupException e) { Console.Error.WriteLine($"unsup-bench-registration: {e.Message}"); return 1; }
        catch (ArgumentException e) { Console.Error.WriteLine($"{e.Message}\n{Usage}"); return 2; }
    }

    /// <summary>The synthesiser of the held-out images: SynthSeg priors from a folder, or Unsup's built-in T1 contrast.</summary>
    internal static LabelImageSynthesizer Synthesizer(string? priors) =>
        new(priors is null ? LabelIntensityPriors.T1SkullStripped() : LabelIntensityPriors.FromSynthSegFolder(priors))
        {
            ZeroBackground = true,   // brain-only maps: skull-stripped images, as the networks are trained on
        };

    /// <summary>One ordered pair of syntheses: fixed subject/variant, moving subject/variant.</summary>
    sealed record Pair(int Fixed, int FixedVariant, int Moving, int MovingVariant, string Name);

    static int Run(Args a)
    {
        Unsup.TorchRuntime.SetThreads(a.Threads);
        var paths = ImageList.Resolve(a.LabelMaps).Select(Path.GetFullPath).ToList();
        if (paths.Count < a.Val || a.Val < 2) throw new UnsupException($"--val {a.Val}: needs 2..{paths.Count} evaluation subjects");
        if (a.Contrasts < 1) throw new UnsupException($"--contrasts {a.Contrasts}: must be at least 1");
        var geometry = new LabelMapGeometry { CropSize = a.Crop, Downsample = a.Downsample };
        using var maps = LabelMapPreparation.Load(paths, geometry);
        var synth = Synthesizer(a.Priors);
        int first = maps.Count - a.Val;
        var evalLabels = a.DiceLabels.Resolve(Enumerable.Range(0, maps.Count).Select(i => maps.Labels[i]));
        if (evalLabels.Count == 0) throw new UnsupException($"--dice-labels {a.DiceLabels}: no label of that set is present in every map");

        // the evaluation subjects' images (several syntheses each) and labels as files: elastix and DIPY read files
        string work = Path.Combine(a.Out, "work");
        Directory.CreateDirectory(work);
        var imageFiles = new Dictionary<(int, int), string>();
        var images = new Dictionary<(int, int), Tensor>();
        var labelFiles = new Dictionary<int, string>();
        for (int s = first; s < maps.Count; s++)
        {
            string stem = maps.Names[s].Replace(".nii.gz", "").Replace(".nii", "");
            labelFiles[s] = Path.Combine(work, $"{stem}_labels.nii.gz");
            NiftiWriter.Write(labelFiles[s], NiftiImage.Create(maps.Labels[s].to(ScalarType.Int32), maps.Affines[s], "bench labels", NiftiIntent.Label));
            for (int v = 0; v < a.Contrasts; v++)
            {
                var img = synth.Synthesize(maps.Labels[s], a.Seed + 1000L * v + s);
                images[(s, v)] = img;
                imageFiles[(s, v)] = Path.Combine(work, $"{stem}_c{v}_t1.nii.gz");
                NiftiWriter.Write(imageFiles[(s, v)], NiftiImage.Create(img, maps.Affines[s], "bench synthesised T1"));
            }
        }
        var pairs = new List<Pair>();
        for (int f = first; f < maps.Count; f++)
            for (int m = first; m < maps.Count; m++)
                if (f != m)
                    for (int vf = 0; vf < a.Contrasts; vf++)
                        for (int vm = 0; vm < a.Contrasts; vm++)
                            pairs.Add(new Pair(f, vf, m, vm, $"{Short(maps.Names[f])}c{vf}<-{Short(maps.Names[m])}c{vm}"));
        int allPairs = pairs.Count;
        if (a.MaxPairs is int max && max < pairs.Count)
        {
            var rng = new Random(unchecked((int)a.Seed));
            pairs = pairs.OrderBy(_ => rng.Next()).Take(max).ToList();
        }
        // everything the pairs and their scoring depend on; a store with another key is not reused
        string dataKey = string.Join("|", paths.Select(PairResultStore.FileKey)) + $"|crop {(a.Crop is null ? "brain" : string.Join("x", a.Crop))}|down {a.Downsample}|val {a.Val}" +
                         $"|contrasts {a.Contrasts}|seed {a.Seed}|priors {(a.Priors is null ? "builtin" : string.Join(",", Directory.GetFiles(a.Priors, "*.npy").Order().Select(PairResultStore.FileKey)))}" +
                         $"|labels {string.Join(",", evalLabels)}";
        var store = new PairResultStore(work, dataKey);
        int reusedCount = 0;
        var methodKeys = new List<string>();
        // a method's measurements under its key (everything its results depend on), the key kept for the report
        Func<Pair, Func<PairResult>, PairResult> MeasuredAs(string methodKey)
        {
            methodKeys.Add(methodKey);
            return (p, measure) =>
            {
                var r = store.GetOrMeasure(methodKey, p.Name, measure, out bool reused);
                if (reused) reusedCount++;
                return r;
            };
        }
        Console.WriteLine($"{pairs.Count} of {allPairs} ordered pairs of {a.Val} held-out subjects x {a.Contrasts} syntheses " +
                          $"({string.Join(", ", Enumerable.Range(first, a.Val).Select(i => maps.Names[i]))}), grid {string.Join("x", maps.Spatial)} " +
                          $"({a.Downsample} mm if the maps are 1 mm), Dice over {evalLabels.Count} labels");

        var rows = new List<BenchRow>();
        var csv = new StringBuilder("method,pair,dice,fold_percent,std_log_detj,seconds\n");
        void Add(string method, IReadOnlyList<PairResult> r, string note, bool timed = true, bool classical = false)
        {
            rows.Add(new BenchRow(method, r.Select(x => x.Dice).ToList(), r.Select(x => x.Fold).ToList(), timed ? r.Select(x => x.Seconds).ToList() : [], note,
                                  r.Select(x => x.StdLogJ).ToList(), classical));
            for (int i = 0; i < r.Count; i++)
                csv.Append(CultureInfo.InvariantCulture, $"\"{method}\",{pairs[i].Name},{r[i].Dice:F5},{r[i].Fold:F5},{r[i].StdLogJ:F5},{(timed ? r[i].Seconds.ToString("F3", CultureInfo.InvariantCulture) : "")}\n");
            var (mean, std, _) = BenchReport.Summary(r.Select(x => x.Dice));
            Console.WriteLine($"{method}: Dice {mean:F4} ± {std:F4}, det J <= 0 {r.Average(x => x.Fold):F4}%, std log det J {r.Average(x => x.StdLogJ):F4}, {r.Average(x => x.Seconds):F2} s/pair");
        }

        Add("no registration", pairs.Select(p => new PairResult(Dice.Mean(maps.Labels[p.Moving], maps.Labels[p.Fixed], evalLabels), 0, 0, 0)).ToList(),
            "moving labels as they are (crops centred on each brain)", timed: false);
        if (!a.NoElastix)
        {
            foreach (var (affineOnly, method, note) in new[] {
                (true, "elastix affine", "bench/registration/elastix/affine.txt alone, Mattes MI"),
                (false, "elastix affine + B-spline", $"affine.txt then {ElastixRegistration.BSplineFileFor(a.Downsample)} (control points 5 voxels apart), Mattes MI") })
            {
                var elastix = ElastixRegistration.Default(a.Threads, affineOnly, voxelMm: a.Downsample);
                var measure = MeasuredAs($"{method}|{PairResultStore.FileKey(elastix.AffineParameterFile)}|{(elastix.BSplineParameterFile is string b ? PairResultStore.FileKey(b) : "-")}|threads {a.Threads}");
                var r = new List<PairResult>();
                foreach (var p in pairs)
                    r.Add(measure(p, () =>
                    {
                        using var scope = NewDisposeScope();
                        using var res = elastix.Register(imageFiles[(p.Fixed, p.FixedVariant)], imageFiles[(p.Moving, p.MovingVariant)], labelFiles[p.Moving],
                            Path.Combine(work, affineOnly ? "elastix-affine" : "elastix", p.Name.Replace("<-", "_from_")), p.Name);
                        return new PairResult(Dice.Mean(res.WarpedLabels, maps.Labels[p.Fixed], evalLabels), res.FoldingPercent,
                                              StdLog(res.JacobianDeterminant), res.RegistrationSeconds + res.WarpSeconds);
                    }));
                Add(method, r, note, classical: true);
            }
        }
        if (!a.NoDipy)
        {
            var dipy = DipySynRegistration.Default(a.Threads, a.DipyIters);
            var measure = MeasuredAs($"DIPY SyN (CC)|{PairResultStore.FileKey(dipy.Script)}|iterations {string.Join(",", a.DipyIters)}|threads {a.Threads}");
            var r = new List<PairResult>();
            foreach (var p in pairs)
                r.Add(measure(p, () =>
                {
                    using var scope = NewDisposeScope();
                    using var res = dipy.Register(imageFiles[(p.Fixed, p.FixedVariant)], imageFiles[(p.Moving, p.MovingVariant)], labelFiles[p.Moving],
                        Path.Combine(work, "dipy", p.Name.Replace("<-", "_from_")), p.Name);
                    return new PairResult(Dice.Mean(res.WarpedLabels, maps.Labels[p.Fixed], evalLabels),
                                          DeformationMetrics.PercentNonPositiveJacobian(res.Forward)[0], DeformationMetrics.StdLogJacobian(res.Forward)[0], res.Seconds);
                }));
            Add("DIPY SyN (CC)", r, $"SymmetricDiffeomorphicRegistration, CCMetric(3), iterations {string.Join(", ", a.DipyIters)}; time inside Python", classical: true);
        }
        foreach (var (model, method, note) in new[] {
            (a.Official, "SYMNet, official weights", "trained on neurite-OASIS scans at 1 mm: domain shift"),
            (a.Finetuned, "SYMNet, fine-tuned by Unsup", a.Finetuned is null ? "" : DescribeRun(a.Finetuned, first)),
            (a.Model, "SYMNet, trained by Unsup", a.Model is null ? "" : DescribeRun(a.Model, first)) })
        {
            if (model is null || !(File.Exists(model) || Directory.Exists(model))) { Console.WriteLine($"{method}: skipped (no weights given)"); continue; }
            string weightsKey = $"{PairResultStore.FileKey(model)}|threads {a.Threads}";
            Add(method, SymNetRows(model, pairs, images, maps, evalLabels, 0, a.RefineLr, 0, MeasuredAs($"{method}|{weightsKey}")), note);
            if (a.Refine > 0)
                Add($"{method} + refinement", SymNetRows(model, pairs, images, maps, evalLabels, a.Refine, a.RefineLr, a.RefineBlur,
                        MeasuredAs($"{method} + refinement|{weightsKey}|steps {a.Refine}|lr {a.RefineLr.ToString("R", CultureInfo.InvariantCulture)}" +
                                   (a.RefineBlur > 0 ? $"|blur {a.RefineBlur.ToString("R", CultureInfo.InvariantCulture)}" : ""))),
                    $"{a.Refine} Adam steps (rate {a.RefineLr.ToString("G3", CultureInfo.InvariantCulture)}) on this pair's velocities, SYMNet loss" +
                    (a.RefineBlur > 0 ? $" on images blurred by σ {a.RefineBlur.ToString("G3", CultureInfo.InvariantCulture)} voxels" : ""));
        }

        string cpu = PairResultStore.CurrentCpu();
        var cpus = store.CpusOf(methodKeys);
        string timedOn = cpus.Count > 1 ? $"timings taken on {cpus.Count} machines across resumed runs ({string.Join("; ", cpus)}), each pair's methods not necessarily on one" : $"on {(cpus.Count == 1 ? cpus[0] : cpu)}";
        if (reusedCount > 0) Console.WriteLine($"{reusedCount} (method, pair) results reused from {store.FilePath}");
        bool freeSurfer = a.DiceLabels.Rule != "all" && evalLabels.All(EvaluationLabels.FreeSurfer30.Contains);
        string preamble = $"{pairs.Count} ordered pairs (fixed<-moving){(pairs.Count < allPairs ? $", a seeded random subset of {allPairs}," : "")} of the held-out subjects " +
                          $"{string.Join(", ", Enumerable.Range(first, a.Val).Select(i => maps.Names[i]))}, each synthesised {a.Contrasts} times with its own contrast " +
                          $"(seed {a.Seed} + 1000 x synthesis + subject index); pairs join different subjects. Grid {string.Join("x", maps.Spatial)} (brain crop, downsampled x{a.Downsample}); " +
                          $"{(a.Priors is null ? "built-in T1 contrast" : "SynthSeg T1 priors")}. Dice: mean over " +
                          (freeSurfer ? $"the {evalLabels.Count} of VoxelMorph's 30 FreeSurfer evaluation structures present in every subject" : $"the {evalLabels.Count} labels present in every subject") +
                          $" ({string.Join(", ", evalLabels)}; --dice-labels {a.DiceLabels}); % det J <= 0 over the whole grid; std log det J over det J > 0; s/pair: wall time of registration " +
                          $"and label warping with {a.Threads} threads {timedOn}, {Environment.ProcessorCount} cores. Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
        string? appendix = null;
        if (BenchReport.BestClassical(rows) is BenchRow best)
            appendix = $"## Means and paired differences against the best classical row ({best.Method})\n\n" +
                       "Means over pairs with percentile-bootstrap 95 % intervals (10,000 resamples of the pairs); Δ = row − reference on the same pairs, " +
                       "with the bootstrap interval of the mean difference.\n\n" + BenchReport.ComparisonTable(rows, best);
        BenchReport.WriteMarkdown(Path.Combine(a.Out, "registration.md"), rows, "Registration on held-out real anatomy", preamble, appendix);
        BenchReport.WriteChart(Path.Combine(a.Out, "registration.png"), rows, "Held-out pairs: Dice and seconds per pair", panelWidth: 1100);
        AtomicFile.WriteAllText(Path.Combine(a.Out, "pairs.csv"), csv.ToString());
        Console.WriteLine($"wrote {Path.Combine(a.Out, "registration.md")}, registration.png, pairs.csv");
        foreach (var t in images.Values) t.Dispose();
        return 0;
    }

    /// <summary>std of log det J over the voxels with det J &gt; 0 (as <see cref="DeformationMetrics.StdLogJacobian"/>), from a det J map.</summary>
    public static double StdLog(Tensor detJ)
    {
        using var scope = NewDisposeScope();
        var d = detJ.to(ScalarType.Float64).flatten();
        var pos = d[d > 0];
        return pos.numel() < 2 ? double.NaN : pos.log().std().item<double>();
    }

    /// <param name="measure">runs a pair's measurement unless a stored result stands in for it</param>
    static List<PairResult> SymNetRows(string weights, List<Pair> pairs, Dictionary<(int, int), Tensor> images, PreparedLabelMaps maps, IReadOnlyList<long> labels,
        int refineSteps, double refineLr, double refineBlur, Func<Pair, Func<PairResult>, PairResult> measure)
    {
        using var reg = SymNetRegistration.FromWeights(weights);
        using var refine = new PairRefinement(refineSteps, refineLr, new SymNetLoss(3) { SimilarityBlur = refineBlur });
        reg.Refinement = refine;
        var spatial = maps.Spatial;
        var rows = new List<PairResult>();
        foreach (var p in pairs)
            rows.Add(measure(p, () =>
            {
                using var scope = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                using var result = reg.Register(images[(p.Fixed, p.FixedVariant)], images[(p.Moving, p.MovingVariant)]);
                var warped = SpatialTransformer.Warp(maps.Labels[p.Moving].reshape([1, 1, .. spatial]), result.Forward, Interpolation.Nearest);
                double seconds = sw.Elapsed.TotalSeconds;
                return new PairResult(Dice.Mean(warped.reshape(spatial), maps.Labels[p.Fixed], labels),
                    DeformationMetrics.PercentNonPositiveJacobian(result.Forward)[0], DeformationMetrics.StdLogJacobian(result.Forward)[0], seconds);
            }));
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

    sealed record Args(string LabelMaps, string Out, string? Model, string? Finetuned, string? Official, string? Priors, long[]? Crop, int Downsample, int Val,
                       int Contrasts, int? MaxPairs, long Seed, int Refine, double RefineLr, double RefineBlur, DiceLabelChoice DiceLabels, int[] DipyIters, int Threads, bool NoElastix, bool NoDipy)
    {
        public static Args Parse(string[] args)
        {
            var v = new Dictionary<string, string>();
            bool noElastix = false, noDipy = false;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--no-elastix") { noElastix = true; continue; }
                if (args[i] == "--no-dipy") { noDipy = true; continue; }
                if (!args[i].StartsWith("--") || i + 1 >= args.Length) throw new ArgumentException($"unexpected argument {args[i]}");
                v[args[i]] = args[++i];
            }
            string Need(string k) => v.TryGetValue(k, out var s) ? s : throw new ArgumentException($"{k} is required");
            int Int(string k, int d) => v.TryGetValue(k, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : d;
            long[]? crop = v.TryGetValue("--crop", out var c) && !c.Equals("brain", StringComparison.OrdinalIgnoreCase)
                ? c.Split('x').Select(long.Parse).ToArray() : null;
            return new Args(Need("--label-maps"), Path.GetFullPath(Need("--out")), v.GetValueOrDefault("--model"), v.GetValueOrDefault("--finetuned"), v.GetValueOrDefault("--official"),
                v.GetValueOrDefault("--priors"), crop, Int("--downsample", 2), Int("--val", 3), Int("--contrasts", 3),
                v.ContainsKey("--max-pairs") ? Int("--max-pairs", 0) : null,
                v.TryGetValue("--seed", out var sd) ? long.Parse(sd, CultureInfo.InvariantCulture) : 5_000_000, Int("--refine", 50),
                v.TryGetValue("--refine-lr", out var lr) ? double.Parse(lr, CultureInfo.InvariantCulture) : PairRefinement.DefaultLearningRate,
                v.TryGetValue("--refine-blur", out var rb) ? double.Parse(rb, CultureInfo.InvariantCulture) : 0,
                DiceLabelChoice.Parse(v.GetValueOrDefault("--dice-labels") ?? "auto"),
                (v.GetValueOrDefault("--dipy-iters") ?? "100,50,25").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(),
                Int("--threads", 2), noElastix, noDipy);
        }
    }
}
