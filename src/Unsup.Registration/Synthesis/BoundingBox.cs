using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>An axis-aligned box of voxels [Start, Start + Size) on each spatial axis.</summary>
public sealed record BoundingBox(long[] Start, long[] Size)
{
    /// <summary>
    /// The smallest box holding every voxel where <paramref name="mask"/> is true, grown by
    /// <paramref name="margin"/> voxels per side (clipped to the volume).
    /// </summary>
    public static BoundingBox Of(Tensor mask, int margin = 0)
    {
        using var scope = NewDisposeScope();
        var nz = mask.to(ScalarType.Bool).nonzero();
        if (nz.shape[0] == 0) throw new UnsupException("the mask is empty: no voxel to put a box around");
        var lo = nz.amin(0).data<long>().ToArray();
        var hi = nz.amax(0).data<long>().ToArray();
        var shape = mask.shape;
        var start = lo.Select((v, i) => Math.Max(0, v - margin)).ToArray();
        var end = hi.Select((v, i) => Math.Min(shape[i], v + 1 + margin)).ToArray();
        return new BoundingBox(start, end.Zip(start, (e, s) => e - s).ToArray());
    }

    /// <summary>The union of boxes (e.g. one crop that fits every subject of a data set).</summary>
    public static BoundingBox Union(IEnumerable<BoundingBox> boxes)
    {
        var list = boxes.ToList();
        if (list.Count == 0) throw new ArgumentException("no boxes");
        int nd = list[0].Start.Length;
        var start = Enumerable.Range(0, nd).Select(i => list.Min(b => b.Start[i])).ToArray();
        var end = Enumerable.Range(0, nd).Select(i => list.Max(b => b.Start[i] + b.Size[i])).ToArray();
        return new BoundingBox(start, end.Zip(start, (e, s) => e - s).ToArray());
    }

    /// <summary>
    /// A box of <paramref name="size"/> centred on this box's centre, shifted to stay inside a volume of
    /// <paramref name="shape"/> (e.g. equal-size crops of several subjects, each centred on its own brain);
    /// on an axis shorter than the box it stays centred and reaches outside (<see cref="Crop"/> pads with zeros).
    /// </summary>
    public BoundingBox Recentered(long[] size, long[] shape)
    {
        var start = new long[Start.Length];
        for (int i = 0; i < start.Length; i++)
        {
            long centre2 = 2 * Start[i] + Size[i];      // twice the centre, to stay in integers
            start[i] = size[i] <= shape[i] ? Math.Clamp((centre2 - size[i]) / 2, 0, shape[i] - size[i]) : (centre2 - size[i]) / 2;
        }
        return new BoundingBox(start, (long[])size.Clone());
    }

    /// <summary>The box's voxels of a [*spatial] tensor (a copy), zero where the box leaves the volume.</summary>
    public Tensor Crop(Tensor volume)
    {
        if (volume.dim() != Start.Length) throw new ArgumentException($"a {Start.Length}D box cannot crop a [{string.Join(", ", volume.shape)}] tensor");
        int nd = Start.Length;
        var lo = Start.Select(s => Math.Max(0, -s)).ToArray();
        var hi = Start.Select((s, i) => Math.Max(0, s + Size[i] - volume.shape[i])).ToArray();
        var idx = Start.Select((s, i) => TensorIndex.Slice(s + lo[i], s + Size[i] - hi[i])).ToArray();
        var inside = volume[idx].contiguous();
        if (lo.All(v => v == 0) && hi.All(v => v == 0)) return inside;
        using var _ = inside;
        // F.pad takes (last-axis low, last-axis high, ..., first-axis high)
        var pad = new long[2 * nd];
        for (int i = 0; i < nd; i++) { pad[2 * (nd - 1 - i)] = lo[i]; pad[2 * (nd - 1 - i) + 1] = hi[i]; }
        return nn.functional.pad(inside, pad);
    }

    /// <summary>The voxel-to-world affine of the cropped volume: the origin moves to the box's first voxel.</summary>
    public double[,] CropAffine(double[,] affine)
    {
        var a = (double[,])affine.Clone();
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < Math.Min(3, Start.Length); c++)
                a[r, 3] += affine[r, c] * Start[c];
        return a;
    }

    public override string ToString() => $"start [{string.Join(", ", Start)}], size [{string.Join("x", Size)}]";
}
