using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>
/// The label set Dice is averaged over when comparing registrations of a data set: VoxelMorph's 30 FreeSurfer
/// evaluation structures (cortex, white matter, ventricles, deep grey nuclei, cerebellum, brainstem; left and
/// right apart), restricted to those present in every subject's map. Tiny structures (vessels, optic chiasm)
/// are left out on purpose: at a few voxels their Dice is noise. Maps that share fewer than
/// <see cref="MinimumFreeSurferLabels"/> of these ids are taken for another labelling and use every nonzero
/// label present in all maps.
/// </summary>
public static class EvaluationLabels
{
    /// <summary>VoxelMorph's data/labels.npz (the ids its papers report Dice on).</summary>
    public static readonly long[] FreeSurfer30 =
        [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 41, 42, 43, 46, 47, 49, 50, 51, 52, 53, 54, 60, 63];

    /// <summary>How many of the 30 ids maps must share to be treated as FreeSurfer segmentations.</summary>
    public const int MinimumFreeSurferLabels = 10;

    /// <param name="maps">label maps (any shape each)</param>
    public static IReadOnlyList<long> For(IEnumerable<Tensor> maps)
    {
        IEnumerable<long>? common = null;
        foreach (var m in maps)
        {
            var ids = Dice.Labels(m);
            common = common is null ? ids : common.Intersect(ids);
        }
        var all = (common ?? []).OrderBy(v => v).ToList();
        var standard = all.Where(id => FreeSurfer30.Contains(id)).ToList();
        return standard.Count >= MinimumFreeSurferLabels ? standard : all;
    }
}
