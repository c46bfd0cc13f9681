using Unsup.IO.Numpy;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// SynthSeg's generative intensity model: every label belongs to an intensity class; per synthesised
/// image each class draws its mean from N(MeanMu, MeanSigma) and its within-class spread from
/// N(StdMu, StdSigma) (both clamped at 0), so labels of one class (e.g. left and right white matter)
/// share one tissue intensity, as in a real scan. Labels not listed become background (0).
/// </summary>
/// <param name="Labels">label ids</param>
/// <param name="ClassOf">the class of each label (index into the class arrays)</param>
public sealed record LabelIntensityPriors(long[] Labels, int[] ClassOf, double[] MeanMu, double[] MeanSigma, double[] StdMu, double[] StdSigma)
{
    public int ClassCount => MeanMu.Length;

    /// <summary>One class per label (the label's own mean and spread).</summary>
    public static LabelIntensityPriors PerLabel(long[] labels, double[] meanMu, double[] meanSigma, double[] stdMu, double[] stdSigma) =>
        new(labels, Enumerable.Range(0, labels.Length).ToArray(), meanMu, meanSigma, stdMu, stdSigma);

    /// <summary>The files of a SynthSeg priors folder.</summary>
    public const string LabelsFile = "generation_labels.npy";
    public const string ContrastClassesFile = "generation_classes_contrast_specific.npy";
    public const string MeansFile = "prior_means_t1.npy";
    public const string StdsFile = "prior_stds_t1.npy";

    /// <summary>The <c>--classes</c> value that picks Unsup's reconstructed pairing (<see cref="SynthSegT1Classes"/>) instead of a file.</summary>
    public const string ReconstructedPairing = "unsup";

    /// <summary>
    /// The T1 priors of a SynthSeg folder (generation_labels.npy, prior_means_t1.npy, prior_stds_t1.npy). The label →
    /// prior-column pairing comes from <paramref name="classesNpy"/> if given, else from the folder's
    /// generation_classes_contrast_specific.npy, SynthSeg's own pairing; a folder without it is an error.
    /// <paramref name="classesNpy"/> = <see cref="ReconstructedPairing"/> takes <see cref="SynthSegT1Classes"/>
    /// instead, with a warning on stderr: that table is wrong for most subcortical structures.
    /// </summary>
    public static LabelIntensityPriors FromSynthSegFolder(string dir, string? classesNpy = null)
    {
        if (!Directory.Exists(dir)) throw UnsupException.ForFile(dir, "priors folder not found");
        string labels = Need(dir, LabelsFile), means = Need(dir, MeansFile), stds = Need(dir, StdsFile);
        if (string.Equals(classesNpy, ReconstructedPairing, StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"warning: --classes {ReconstructedPairing}: Unsup's reconstructed label pairing differs from SynthSeg's " +
                                    $"{ContrastClassesFile} for hippocampus, amygdala, caudate, accumbens, thalamus, putamen, pallidum, " +
                                    "ventral DC, vessels and the extra-cerebral labels; use SynthSeg's file when you have it");
            using var scope = NewDisposeScope();
            var ids = NpyReader.Read(labels).to(ScalarType.Int64).flatten().data<long>().ToArray();
            var (meanRows, stdRows) = ReadPriors(means, stds);
            var classes = SynthSegT1Classes.For(ids, labels, meanRows[0].Length);
            return new LabelIntensityPriors(ids, classes, meanRows[0], meanRows[1], stdRows[0], stdRows[1]);
        }
        if (classesNpy is null)
        {
            classesNpy = Path.Combine(dir, ContrastClassesFile);
            if (!File.Exists(classesNpy))
                throw UnsupException.ForFile(classesNpy, $"not found: SynthSeg pairs {LabelsFile} with the T1 priors through this file " +
                                                         "(SynthSeg's data/labels_classes_priors); add it, give --classes FILE, " +
                                                         $"or --classes {ReconstructedPairing} for Unsup's reconstructed pairing (not SynthSeg's)");
        }
        return FromSynthSegFiles(labels, classesNpy, means, stds);
    }

    /// <summary>
    /// SynthSeg's prior files: generation_labels.npy (label ids), a classes file (the intensity class of
    /// each label) and prior_means / prior_stds (2 × n_classes: row 0 mean, row 1 spread of the class mean
    /// and of the class standard deviation). The classes must index the priors' columns: SynthSeg pairs
    /// prior_*_t1.npy with generation_classes_contrast_specific.npy, not with generation_classes.npy.
    /// </summary>
    public static LabelIntensityPriors FromSynthSegFiles(string labelsNpy, string classesNpy, string meansNpy, string stdsNpy)
    {
        using var scope = NewDisposeScope();
        var labels = NpyReader.Read(labelsNpy).to(ScalarType.Int64).flatten().data<long>().ToArray();
        var classes = NpyReader.Read(classesNpy).to(ScalarType.Int64).flatten().data<long>().ToArray();
        if (classes.Length != labels.Length)
            throw UnsupException.ForFile(classesNpy, $"has {classes.Length} classes for {labels.Length} labels in {labelsNpy}");
        var (m, s) = ReadPriors(meansNpy, stdsNpy);
        int nClasses = m[0].Length;
        long maxClass = classes.Max();
        if (maxClass >= nClasses || classes.Min() < 0)
            throw UnsupException.ForFile(classesNpy, $"uses classes 0..{maxClass} but the priors have {nClasses} columns; SynthSeg's T1 priors go with {ContrastClassesFile}");
        return new LabelIntensityPriors(labels, classes.Select(c => (int)c).ToArray(), m[0], m[1], s[0], s[1]);
    }

    static (double[][] Means, double[][] Stds) ReadPriors(string meansNpy, string stdsNpy)
    {
        using var scope = NewDisposeScope();
        var means = NpyReader.Read(meansNpy).to(ScalarType.Float64);
        var stds = NpyReader.Read(stdsNpy).to(ScalarType.Float64);
        foreach (var (t, path) in new[] { (means, meansNpy), (stds, stdsNpy) })
        {
            if (t.dim() != 2 || t.shape[0] != 2)
                throw UnsupException.ForFile(path, $"expected a 2 x n_classes array, got [{string.Join(", ", t.shape)}]");
            if (!t.isfinite().all().item<bool>()) throw UnsupException.ForFile(path, "holds NaN or infinite values");
        }
        if (stds.shape[1] != means.shape[1]) throw UnsupException.ForFile(stdsNpy, $"has {stds.shape[1]} classes, {meansNpy} has {means.shape[1]}");
        double[][] Rows(Tensor t) => [t[0].data<double>().ToArray(), t[1].data<double>().ToArray()];
        return (Rows(means), Rows(stds));
    }

    static string Need(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        if (!File.Exists(path)) throw UnsupException.ForFile(path, $"not found: a SynthSeg priors folder holds {LabelsFile}, {MeansFile} and {StdsFile}");
        return path;
    }

    /// <summary>
    /// A fixed skull-stripped T1 contrast for FreeSurfer aseg labels (0–255 scale, white matter 110,
    /// grey matter 75, CSF 30), for when no SynthSeg priors are at hand. Extra-cerebral labels (≥ 500) are
    /// background; other brain labels below 500 not named here get a grey-matter-like 80.
    /// </summary>
    public static LabelIntensityPriors T1SkullStripped(double meanJitter = 4, double textureStd = 4, double textureJitter = 1)
    {
        var table = new (long[] Ids, double Mean)[]
        {
            ([2, 41], 110), ([7, 46], 105), ([16, 28, 60], 95), ([3, 42], 75), ([8, 47], 80), ([10, 49], 95),
            ([11, 50], 80), ([12, 51], 85), ([13, 52], 100), ([17, 53], 72), ([18, 54], 74), ([26, 58], 78),
            ([4, 43, 5, 44, 14, 15, 72], 30), ([24], 35), ([30, 62], 70), ([31, 63], 60), ([77], 100), ([85], 100),
            ([25, 57, 136, 137, 163, 164], 80),
        };
        var ids = new List<long>(); var cls = new List<int>();
        for (int c = 0; c < table.Length; c++) foreach (var id in table[c].Ids) { ids.Add(id); cls.Add(c); }
        int n = table.Length;
        return new LabelIntensityPriors(ids.ToArray(), cls.ToArray(), table.Select(t => t.Mean).ToArray(),
            Fill(n, meanJitter), Fill(n, textureStd), Fill(n, textureJitter));
    }

    static double[] Fill(int n, double v) { var a = new double[n]; Array.Fill(a, v); return a; }
}
