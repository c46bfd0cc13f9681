using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Converts displacement fields between Unsup's channel-first tensors [N, nd, *spatial] and the
/// channel-last arrays (*spatial, nd) the official code saves as NIfTI vector images. The channel
/// order (0 = last array axis) is the same in both; only the axis position moves.
/// </summary>
public static class DisplacementLayout
{
    /// <summary>[N, nd, *spatial] → [N, *spatial, nd] (contiguous).</summary>
    public static Tensor ToChannelsLast(Tensor field) => field.permute(ChannelsLastOrder((int)field.dim() - 2)).contiguous();

    /// <summary>The permute order taking [N, nd, *spatial] to [N, *spatial, nd] (a view, for callers that need no copy).</summary>
    public static long[] ChannelsLastOrder(int nd)
    {
        var perm = new long[nd + 2];
        perm[0] = 0;
        for (int i = 0; i < nd; i++) perm[i + 1] = i + 2;
        perm[nd + 1] = 1;
        return perm;
    }

    /// <summary>(*spatial, nd) or [N, *spatial, nd] → [N, nd, *spatial]; checks the vector length matches the dimensionality.</summary>
    public static Tensor FromChannelsLast(Tensor field)
    {
        var f = field;
        long last = f.shape[^1];
        if (f.dim() == last + 1) f = f.unsqueeze(0);
        if (last is not (2 or 3) || f.dim() != last + 2)
            throw new UnsupException($"a displacement field must be (D, H, W, 3) or (H, W, 2), got ({string.Join(", ", field.shape)})");
        int nd = (int)last;
        var perm = new long[nd + 2];
        perm[0] = 0;
        perm[1] = nd + 1;
        for (int i = 0; i < nd; i++) perm[i + 2] = i + 1;
        return f.permute(perm).contiguous();
    }
}
