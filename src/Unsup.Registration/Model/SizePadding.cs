using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// Zero-pads spatial sizes up to a multiple (SYMNet needs 16) at the high end of each axis, so voxel
/// coordinates — and hence displacements — are unchanged, and crops results back.
/// </summary>
public static class SizePadding
{
    public static long[] PaddedShape(ReadOnlySpan<long> spatial, int multiple) =>
        spatial.ToArray().Select(s => (s + multiple - 1) / multiple * multiple).ToArray();

    /// <summary>x [N, C, *spatial] padded with zeros at the end of each spatial axis (no copy when already fitting).</summary>
    public static Tensor Pad(Tensor x, int multiple)
    {
        var spatial = x.shape.AsSpan(2);
        var target = PaddedShape(spatial, multiple);
        if (target.AsSpan().SequenceEqual(spatial)) return x.alias();
        // pad lists (before, after) pairs starting from the last axis
        var pad = new long[2 * target.Length];
        for (int i = 0; i < target.Length; i++)
            pad[2 * i + 1] = target[target.Length - 1 - i] - spatial[target.Length - 1 - i];
        return nn.functional.pad(x, pad);
    }

    /// <summary>x [N, C, *padded] cut back to [N, C, *spatial].</summary>
    public static Tensor Crop(Tensor x, ReadOnlySpan<long> spatial)
    {
        if (x.shape.AsSpan(2).SequenceEqual(spatial)) return x.alias();
        var idx = new TensorIndex[spatial.Length + 2];
        idx[0] = TensorIndex.Colon;
        idx[1] = TensorIndex.Colon;
        for (int i = 0; i < spatial.Length; i++) idx[i + 2] = TensorIndex.Slice(0, spatial[i]);
        return x[idx].contiguous();
    }
}
