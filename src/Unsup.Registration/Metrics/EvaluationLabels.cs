using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>
/// The label set Dice is averaged over when comparing registrations of a data set. The automatic rule
/// (<see cref="For"/>): when every map is a FreeSurfer segmentation — at least <see cref="MinimumFreeSurferLabels"/>
/// of VoxelMorph's 30 evaluation structures present in it — those structures present in every map (cortex, white
/// matter, ventricles, deep grey nuclei, cerebellum, brainstem; left and right apart; tiny structures such as vessels
/// or the optic chiasm are left out on purpose: at a few voxels their Dice is noise). Otherwise every nonzero label
/// present in all maps. A labelling that merely shares some ids with FreeSurfer's (neurite-OASIS seg35 shares 17,
/// with other meanings for the rest) thus gets all its labels rather than an arbitrary subset; to choose explicitly,
/// see <see cref="DiceLabelChoice"/> (`--dice-labels freesurfer|all|FILE`).
/// </summary>
public static class EvaluationLabels
{
    /// <summary>VoxelMorph's data/labels.npz (the ids its papers report Dice on).</summary>
    public static readonly long[] FreeSurfer30 =
        [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 41, 42, 43, 46, 47, 49, 50, 51, 52, 53, 54, 60, 63];

    /// <summary>
    /// How many of the 30 ids a map must hold to count as a FreeSurfer segmentation: most of them. Real FreeSurfer
    /// and SynthSeg maps hold 27–30 (24 is lost to skull stripping, choroid plexus 31/63 is missing from some);
    /// neurite-OASIS seg35 holds 17.
    /// </summary>
    public const int MinimumFreeSurferLabels = 20;

    /// <summary>Whether a map's nonzero ids make it a FreeSurfer segmentation in the sense of <see cref="MinimumFreeSurferLabels"/>.</summary>
    public static bool IsFreeSurfer(IEnumerable<long> ids) => ids.Count(id => FreeSurfer30.Contains(id)) >= MinimumFreeSurferLabels;

    /// <summary>The automatic rule (see the class summary).</summary>
    /// <param name="maps">label maps (any shape each)</param>
    public static IReadOnlyList<long> For(IEnumerable<Tensor> maps)
    {
        var perMap = maps.Select(Dice.Labels).ToList();
        bool freeSurfer = perMap.Count > 0 && perMap.All(ids => IsFreeSurfer(ids));
        return freeSurfer ? FreeSurferCommon(perMap) : Common(perMap);
    }

    /// <summary>The FreeSurfer evaluation structures present in every map (whatever the maps' labelling).</summary>
    public static IReadOnlyList<long> FreeSurferIn(IEnumerable<Tensor> maps) => FreeSurferCommon(maps.Select(Dice.Labels).ToList());

    /// <summary>Every nonzero label present in every map.</summary>
    public static IReadOnlyList<long> AllIn(IEnumerable<Tensor> maps) => Common(maps.Select(Dice.Labels).ToList());

    static List<long> Common(List<long[]> perMap)
    {
        IEnumerable<long>? common = null;
        foreach (var ids in perMap) common = common is null ? ids : common.Intersect(ids);
        return (common ?? []).OrderBy(v => v).ToList();
    }

    static List<long> FreeSurferCommon(List<long[]> perMap) => Common(perMap).Where(id => FreeSurfer30.Contains(id)).ToList();
}
