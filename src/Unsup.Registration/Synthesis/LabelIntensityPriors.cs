using Unsup.IO.Numpy;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// For each label id, the distribution an image draws that structure's intensity from: its mean is
/// drawn from N(MeanMu, MeanSigma) and its within-structure spread from N(StdMu, StdSigma) (clamped at 0),
/// once per synthesised image, the SynthSeg generative model. Labels not listed become background (0).
/// </summary>
public sealed record LabelIntensityPriors(long[] Labels, double[] MeanMu, double[] MeanSigma, double[] StdMu, double[] StdSigma)
{
    /// <summary>
    /// A fixed skull-stripped T1 contrast for FreeSurfer aseg labels (0–255 scale, white matter 110,
    /// grey matter 75, CSF 30; after Fischl et al.'s typical T1 tissue ordering WM &gt; deep GM &gt; cortex &gt; CSF).
    /// Every image of a pair gets the same contrast up to a small jitter, as two scans of one protocol do;
    /// extra-cerebral labels (≥ 500: skull, scalp, eyes...) are background, as in skull-stripped OASIS images.
    /// Other brain labels below 500 not named here get a grey-matter-like 80.
    /// </summary>
    public static LabelIntensityPriors T1SkullStripped(double meanJitter = 4, double textureStd = 4, double textureJitter = 1)
    {
        var table = new (long[] Ids, double Mean)[]
        {
            ([2, 41], 110),          // cerebral white matter
            ([7, 46], 105),          // cerebellar white matter
            ([16, 28, 60], 95),      // brainstem, ventral DC
            ([3, 42], 75),           // cerebral cortex
            ([8, 47], 80),           // cerebellar cortex
            ([10, 49], 95),          // thalamus
            ([11, 50], 80),          // caudate
            ([12, 51], 85),          // putamen
            ([13, 52], 100),         // pallidum
            ([17, 53], 72),          // hippocampus
            ([18, 54], 74),          // amygdala
            ([26, 58], 78),          // accumbens
            ([4, 43, 5, 44, 14, 15, 72], 30), // ventricles
            ([24], 35),              // extra-ventricular CSF
            ([30, 62], 70),          // vessel
            ([31, 63], 60),          // choroid plexus
            ([77], 100),             // WM hypointensities
            ([85], 100),             // optic chiasm
        };
        var ids = new List<long>(); var mu = new List<double>();
        foreach (var (group, mean) in table) foreach (var id in group) { ids.Add(id); mu.Add(mean); }
        // brain labels outside the table (e.g. SynthSeg's extra ids 136/137/163/164) look like tissue, not background
        foreach (var id in new long[] { 136, 137, 163, 164 }) { ids.Add(id); mu.Add(80); }
        int n = ids.Count;
        return new LabelIntensityPriors(ids.ToArray(), mu.ToArray(), Fill(n, meanJitter), Fill(n, textureStd), Fill(n, textureJitter));
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
        var means = NpyReader.Read(meansNpy).to(ScalarType.Float64);
        var stds = NpyReader.Read(stdsNpy).to(ScalarType.Float64);
        if (classes.Length != labels.Length)
            throw UnsupException.ForFile(classesNpy, $"has {classes.Length} classes for {labels.Length} labels in {labelsNpy}");
        foreach (var (t, path) in new[] { (means, meansNpy), (stds, stdsNpy) })
            if (t.dim() != 2 || t.shape[0] != 2)
                throw UnsupException.ForFile(path, $"expected a 2 x n_classes array, got [{string.Join(", ", t.shape)}]");
        long nClasses = means.shape[1];
        if (stds.shape[1] != nClasses) throw UnsupException.ForFile(stdsNpy, $"has {stds.shape[1]} classes, {meansNpy} has {nClasses}");
        long maxClass = classes.Max();
        if (maxClass >= nClasses || classes.Min() < 0)
            throw UnsupException.ForFile(classesNpy, $"uses classes 0..{maxClass} but the priors have {nClasses} columns; SynthSeg's T1 priors go with generation_classes_contrast_specific.npy");
        var m = means.data<double>().ToArray();
        var s = stds.data<double>().ToArray();
        double[] Pick(double[] a, int row) => classes.Select(c => a[row * nClasses + c]).ToArray();
        return new LabelIntensityPriors(labels, Pick(m, 0), Pick(m, 1), Pick(s, 0), Pick(s, 1));
    }

    static double[] Fill(int n, double v) { var a = new double[n]; Array.Fill(a, v); return a; }
}
