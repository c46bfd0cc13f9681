using Unsup.IO.Nifti;
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

    public static Tensor BrainOnly(Tensor labels)
    {
        var lab = labels.to(ScalarType.Int64);
        return where((lab >= FirstNonBrainLabel).logical_or(lab == OuterCsfLabel), zeros_like(lab), lab);
    }

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
                if (!File.Exists(path)) throw UnsupException.ForFile(path, "label map not found");
                using var img = NiftiReader.Read(path);
                var shape = img.Shape.Reverse().SkipWhile(s => s == 1).Reverse().ToArray();
                if (shape.Length != 3) throw UnsupException.ForFile(path, $"is {string.Join("x", img.Shape)}; a 3D label map is expected");
                grid ??= shape;
                if (!grid.SequenceEqual(shape))
                    throw UnsupException.ForFile(path, $"is {string.Join("x", shape)} but {paths[0]} is {string.Join("x", grid)}; all label maps must share one grid");
                var lab = SymNetTrainingData.CheckIntegerLabels(img.Data.reshape(shape), path).to(ScalarType.Int32);
                maps.Add(geometry.BrainOnly ? BrainOnly(lab).to(ScalarType.Int32) : lab);
                if (geometry.BrainOnly) lab.Dispose();
                affines.Add(img.Affine);
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
                try { return BoundingBox.Of(m > 0, geometry.Margin); }
                catch (UnsupException) { throw UnsupException.ForFile(paths[i], "holds no brain label (all background after removing labels >= 500 and 24)"); }
            }).ToList();
            var size = geometry.CropSize ?? Enumerable.Range(0, 3).Select(i => own.Max(b => b.Size[i])).ToArray();
            if (size.Length != 3 || size.Any(s => s < 1)) throw new UnsupException($"crop size {string.Join("x", size)}: three positive sizes are expected");
            var boxes = own.Select(b => CenteredBox(b, size, grid!)).ToList();
            using var scope = NewDisposeScope();
            var cropped = stack(maps.Select((m, i) => Pad(m, boxes[i])).ToList()).unsqueeze(1);
            var down = Downsampling.Labels(cropped, geometry.Downsample).squeeze(1).to(ScalarType.Int64);
            var outAffines = affines.Select((a, i) => Downsampling.Affine(boxes[i].CropAffine(a), geometry.Downsample)).ToList();
            return new PreparedLabelMaps(names, down.DetachFromDisposeScope(), outAffines, boxes.Select(b => (BoundingBox?)b).ToList());
        }
        finally
        {
            foreach (var m in maps) m.Dispose();
        }
    }

    /// <summary>A box of <paramref name="size"/> centred on <paramref name="brain"/>; may reach outside the volume (zero-padded on crop).</summary>
    static BoundingBox CenteredBox(BoundingBox brain, long[] size, long[] shape)
    {
        var start = new long[3];
        for (int i = 0; i < 3; i++)
        {
            long centre2 = 2 * brain.Start[i] + brain.Size[i];
            start[i] = size[i] <= shape[i] ? Math.Clamp((centre2 - size[i]) / 2, 0, shape[i] - size[i]) : (centre2 - size[i]) / 2;
        }
        return new BoundingBox(start, (long[])size.Clone());
    }

    /// <summary>The box's voxels, zero where the box leaves the volume.</summary>
    static Tensor Pad(Tensor volume, BoundingBox box)
    {
        var shape = volume.shape;
        var lo = box.Start.Select(s => Math.Max(0, -s)).ToArray();
        var hi = box.Start.Select((s, i) => Math.Max(0, s + box.Size[i] - shape[i])).ToArray();
        if (lo.All(v => v == 0) && hi.All(v => v == 0)) return box.Crop(volume);
        var inside = new BoundingBox(box.Start.Select((s, i) => s + lo[i]).ToArray(), box.Size.Select((n, i) => n - lo[i] - hi[i]).ToArray());
        // F.pad takes (last-axis low, last-axis high, ..., first-axis high)
        var pad = new long[6];
        for (int i = 0; i < 3; i++) { pad[2 * (2 - i)] = lo[i]; pad[2 * (2 - i) + 1] = hi[i]; }
        return nn.functional.pad(inside.Crop(volume), pad);
    }
}
