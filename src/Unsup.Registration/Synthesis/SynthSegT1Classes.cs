namespace Unsup.Registration.Synthesis;

/// <summary>
/// Which column of SynthSeg's 25-column T1 priors (prior_means_t1.npy / prior_stds_t1.npy) each generation
/// label draws from, reconstructed by Unsup before SynthSeg's own pairing (generation_classes_contrast_specific.npy)
/// was at hand; kept only behind `--classes unsup` (with a warning). Compared with SynthSeg's file it is right only for
/// background, CSF, white matter, cortex, cerebellar white matter and brainstem. How it was made: brain labels take the column whose prior mean is nearest to the
/// structure's mean intensity in a real T1 scan (VoxelMorph's test scan with its FreeSurfer segmentation,
/// scaled so cerebral white matter sits on the brightest brain column, 160), left and right sharing a column
/// and all CSF spaces sharing one; the extra-cerebral labels (≥ 500, only seen when the head is kept) take
/// columns 4–14 in file order, a guess. With skull stripping (the registration default) only the brain rows matter.
/// </summary>
public static class SynthSegT1Classes
{
    /// <summary>The number of columns this table indexes.</summary>
    public const int Columns = 25;

    static readonly (long[] Labels, int Column, string Tissue)[] Table =
    [
        ([0], 0, "background (prior mean 7)"),
        ([4, 5, 14, 15, 24, 43, 44, 72], 1, "CSF: ventricles and outer CSF (44)"),
        ([2, 41, 13, 52], 2, "cerebral white matter, pallidum (160)"),
        ([3, 42, 8, 47, 136, 137, 163, 164], 3, "cerebral and cerebellar cortex, other grey matter (96)"),
        ([7, 46, 10, 49, 12, 51], 4, "cerebellar white matter, thalamus, putamen (136)"),
        ([28, 60], 8, "ventral diencephalon (152)"),
        ([16], 13, "brainstem (130)"),
        ([11, 50, 26, 58, 85], 17, "caudate, accumbens, optic chiasm (117)"),
        ([17, 53, 18, 54, 30, 62], 19, "hippocampus, amygdala, vessels (114)"),
        ([25, 57, 77], 7, "lesions, white-matter hypointensities (124)"),
        ([502], 4, "extra-cerebral"), ([506], 5, "extra-cerebral"), ([507], 6, "extra-cerebral"),
        ([508], 7, "extra-cerebral"), ([509], 8, "extra-cerebral"), ([511], 9, "extra-cerebral"),
        ([512], 10, "extra-cerebral"), ([514], 11, "extra-cerebral"), ([515], 12, "extra-cerebral"),
        ([516], 13, "extra-cerebral"), ([530], 14, "extra-cerebral"),
    ];

    /// <summary>The prior column of every label id, in the order given.</summary>
    /// <param name="labelsFile">named in the error when a label has no column</param>
    /// <param name="columns">columns of the priors actually read</param>
    public static int[] For(IReadOnlyList<long> labels, string labelsFile, int columns)
    {
        if (columns != Columns)
            throw UnsupException.ForFile(labelsFile, $"Unsup's label pairing is for SynthSeg's {Columns}-column T1 priors, these have {columns}: pass the matching classes file with --classes");
        var map = new Dictionary<long, int>();
        foreach (var (ids, column, _) in Table) foreach (var id in ids) map[id] = column;
        var missing = labels.Where(l => !map.ContainsKey(l)).ToList();
        if (missing.Count > 0)
            throw UnsupException.ForFile(labelsFile, $"label(s) {string.Join(", ", missing)} have no T1 class in Unsup's pairing: pass a classes file with --classes");
        return labels.Select(l => map[l]).ToArray();
    }

    /// <summary>The table as (labels, column, tissue) rows, for documentation and `unsup synth --verbose`.</summary>
    public static IReadOnlyList<(long[] Labels, int Column, string Tissue)> Rows => Table;
}
