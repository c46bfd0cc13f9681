using Unsup.Registration.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>How whole-head label maps are brought to a registration grid.</summary>
public sealed record LabelMapGeometry
{
    /// <summary>Set extra-cerebral labels (≥ 500) and the outer CSF (24) to background, as skull stripping does.</summary>
    public bool BrainOnly { get; init; } = true;
    /// <summary>
    /// Crop size in input voxels, each subject's crop centred on its own brain (null: the largest brain
    /// bounding box of the set plus <see cref="Margin"/>, so one grid fits every subject).
    /// </summary>
    public long[]? CropSize { get; init; }
    public int Margin { get; init; } = 4;
    /// <summary>Integer factor after cropping, one voxel per block (nearest neighbour, <see cref="Downsampling"/>).</summary>
    public int Downsample { get; init; } = 1;
    /// <summary>No crop: the maps' own grid (downsampled if asked).</summary>
    public bool KeepGrid { get; init; }
}

/// <summary>Label maps on one grid ([S, *spatial] int64), with each subject's voxel-to-world affine.</summary>
public sealed class PreparedLabelMaps(IReadOnlyList<string> names, Tensor labels, IReadOnlyList<double[,]> affines, IReadOnlyList<BoundingBox?> boxes) : IDisposable
{
    public IReadOnlyList<string> Names { get; } = names;
    public Tensor Labels { get; } = labels;
    public IReadOnlyList<double[,]> Affines { get; } = affines;
    /// <summary>Each subject's crop in its input grid (null when the grid was kept).</summary>
    public IReadOnlyList<BoundingBox?> Boxes { get; } = boxes;
    public int Count => (int)Labels.shape[0];
    public long[] Spatial => Labels.shape[1..];
    public void Dispose() => Labels.Dispose();
}

/// <summary>
/// Brings whole-head label maps (e.g. SynthSeg's 256^3 training maps) to a registration grid: brain only,
/// equal-size crops each centred on its own brain (which also removes most of the translation between
/// subjects, as a centre-of-mass initialisation does), then integer downsampling with nearest neighbour so
/// no label value is ever invented. Affines follow every step, so outputs keep their place in world space.
/// </summary>
public static class LabelMapPreparation
{
    /// <summary>Label ids from this value up are extra-cerebral in SynthSeg's maps (skull, scalp, eyes, ...).</summary>
    public const long FirstNonBrainLabel = 500;
    /// <summary>FreeSurfer's "CSF" outside the ventricles: in these maps it runs around the brain and down the spinal canal.</summary>
    public const long OuterCsfLabel = 24;

    /// <summary>The map with extra-cerebral labels and outer CSF set to 0 (same dtype).</summary>
    public static Tensor BrainOnly(Tensor labels) =>
        where((labels >= FirstNonBrainLabel).logical_or(labels == OuterCsfLabel), zeros_like(labels), labels);

    public static PreparedLabelMaps Load(IReadOnlyList<string> paths, LabelMapGeometry geometry)
    {
        if (paths.Count == 0) throw new UnsupException("no label maps given");
        if (geometry.Downsample < 1) throw new UnsupException($"--downsample {geometry.Downsample}: must be at least 1");
        var maps = new List<Tensor>();
        var affines = new List<double[,]>();
        long[]? grid = null;
        try
        {
            foreach (var path in paths)
            {
                using var data = SymNetTrainingData.ReadVolume(path, "label map", out var shape, out var affine);
                if (shape.Length != 3) throw UnsupException.ForFile(path, $"is {string.Join("x", shape)}; a 3D label map is expected");
                grid ??= shape;
                if (!grid.SequenceEqual(shape))
                    throw UnsupException.ForFile(path, $"is {string.Join("x", shape)} but {paths[0]} is {string.Join("x", grid)}; all label maps must share one grid");
                using var lab = SymNetTrainingData.CheckIntegerLabels(data, path).to(ScalarType.Int32);
                maps.Add(geometry.BrainOnly ? BrainOnly(lab) : lab.alias());
                if (!(maps[^1] != 0).any().item<bool>())
                    throw UnsupException.ForFile(path, "is an empty label map: it holds no brain label, every voxel is background 0" +
                        (geometry.BrainOnly ? " after skull stripping (labels >= 500 and 24 removed)" : "") + ", so there is nothing to synthesise");
                affines.Add(affine);
            }
            var names = paths.Select(p => Path.GetFileName(p)).ToList();
            if (geometry.KeepGrid)
            {
                using var keepScope = NewDisposeScope();
                var kept = Downsampling.Labels(stack(maps).unsqueeze(1), geometry.Downsample).squeeze(1).to(ScalarType.Int64);
                return new PreparedLabelMaps(names, kept.DetachFromDisposeScope(), affines.Select(a => Downsampling.Affine(a, geometry.Downsample)).ToList(),
                    paths.Select(_ => (BoundingBox?)null).ToList());
            }
            var own = maps.Select((m, i) =>
            {
                // centred on the brain in whole-head maps too: the head's box (neck, face) would misplace the brains
                using var brain = geometry.BrainOnly ? null : BrainOnly(m);
                try { return BoundingBox.Of((brain ?? m) > 0, geometry.Margin); }
                catch (UnsupException) { throw UnsupException.ForFile(paths[i], "holds no brain label (all background after removing labels >= 500 and 24)"); }
            }).ToList();
            var size = geometry.CropSize ?? Enumerable.Range(0, 3).Select(i => own.Max(b => b.Size[i])).ToArray();
            if (size.Length != 3 || size.Any(s => s < 1)) throw new UnsupException($"crop size {string.Join("x", size)}: three positive sizes are expected");
            var boxes = own.Select(b => b.Recentered(size, grid!)).ToList();
            using var scope = NewDisposeScope();
            var cropped = stack(maps.Select((m, i) => boxes[i].Crop(m)).ToList()).unsqueeze(1);
            var down = Downsampling.Labels(cropped, geometry.Downsample).squeeze(1).to(ScalarType.Int64);
            var outAffines = affines.Select((a, i) => Downsampling.Affine(boxes[i].CropAffine(a), geometry.Downsample)).ToList();
            return new PreparedLabelMaps(names, down.DetachFromDisposeScope(), outAffines, boxes.Select(b => (BoundingBox?)b).ToList());
        }
        finally
        {
            foreach (var m in maps) m.Dispose();
        }
    }
}
