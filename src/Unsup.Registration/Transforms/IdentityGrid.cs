using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Identity sampling grids for <c>grid_sample(..., align_corners: true)</c>, built once per
/// (shape, device, dtype) and shared, since the same volume size is warped many times per step.
/// </summary>
/// <remarks>
/// Layout [1, *spatial, nd], entry k normalised along array axis nd-1-k (entry 0 = last axis, the
/// order grid_sample expects and the official displacement channel order).
/// </remarks>
public static class IdentityGrid
{
    private static readonly ConcurrentDictionary<string, Lazy<Tensor>> Cache = new();

    /// <summary>The normalised identity grid in [-1, 1] (0 on an axis of size 1).</summary>
    public static Tensor Normalized(ReadOnlySpan<long> spatial, Device device, ScalarType dtype)
    {
        var shape = spatial.ToArray();
        var key = $"{string.Join('x', shape)}|{device}|{dtype}";
        // Lazy: concurrent first callers share one build instead of leaking a duplicate grid
        return Cache.GetOrAdd(key, _ => new Lazy<Tensor>(() => Build(shape, device, dtype))).Value;
    }

    /// <summary>
    /// Per-entry factors turning voxel displacements (channel-first, channel 0 = last axis) into
    /// normalised grid offsets: 2 / (size - 1), 0 for an axis of size 1.
    /// </summary>
    public static Tensor VoxelToUnitScale(ReadOnlySpan<long> spatial, Device device, ScalarType dtype)
    {
        int nd = spatial.Length;
        var s = new float[nd];
        for (int k = 0; k < nd; k++)
        {
            long size = spatial[nd - 1 - k];
            s[k] = size > 1 ? 2f / (size - 1) : 0f;
        }
        return tensor(s, dtype: dtype, device: device);
    }

    /// <summary>Drops every cached grid (for long-running processes that change sizes).</summary>
    public static void Clear()
    {
        foreach (var key in Cache.Keys)
            if (Cache.TryRemove(key, out var t) && t.IsValueCreated) t.Value.Dispose();
    }

    private static Tensor Build(long[] spatial, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        int nd = spatial.Length;
        var axes = spatial.Select(n => n > 1 ? linspace(-1.0, 1.0, n, dtype: ScalarType.Float64) : zeros(n, ScalarType.Float64)).ToArray();
        var mesh = meshgrid(axes, indexing: "ij");
        var entries = Enumerable.Range(0, nd).Select(k => mesh[nd - 1 - k]).ToArray();
        var grid = stack(entries, -1).unsqueeze(0).to(dtype, device).contiguous();
        // lives in the static cache, beyond any caller's dispose scope
        return grid.DetachFromDisposeScope();
    }
}
