using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Affine;

/// <summary>
/// A volume sampled trilinearly at an affine map of a box of voxels, with the spatial gradient of the interpolant at
/// each sample, in one pass over the tensors' memory (CPU, float32). The affine optimiser needs both every iteration:
/// through libtorch that is grid_sample forward and backward on a points tensor built by a matmul, which made a 3 mm
/// iteration cost about 120 ms. Same arithmetic as grid_sample(bilinear, zeros, align_corners: true) and its gradient
/// with respect to the grid: corners outside the volume count as 0.
/// </summary>
internal static unsafe class AffineSamplingKernel
{
    /// <summary>
    /// For every voxel q of a box of <paramref name="shape"/> starting at <paramref name="offset"/>, p = M [q; 1] with
    /// <paramref name="m"/> the 3x4 matrix (row-major) to voxel indices (i, j, k) of <paramref name="volume"/> [D, H, W]:
    /// the value volume(p) [*shape] and its derivatives d/dp_i, d/dp_j, d/dp_k [3, *shape].
    /// </summary>
    internal static (Tensor Values, Tensor Gradient) Sample(Tensor volume, double[] m, long[] offset, long[] shape)
    {
        var values = empty(shape, ScalarType.Float32);
        var gradient = empty([3, .. shape], ScalarType.Float32);
        SampleInto(values, gradient, volume, m, offset);
        return (values, gradient);
    }

    /// <summary>
    /// The volume alone resampled at M [q; 1] on a grid of <paramref name="shape"/> (offset 0): trilinear, or nearest
    /// (ties to even, as grid_sample). What an affine resampler needs, without the [*shape, 3] point tensors (200 MB
    /// each for a 256³ grid) that the grid_sample path builds.
    /// </summary>
    internal static Tensor Resample(Tensor volume, double[] m, long[] shape, bool nearest)
    {
        var values = empty(shape, ScalarType.Float32);
        SampleInto(values, null, volume, m, new long[3], nearest);
        return values;
    }

    /// <summary><see cref="Sample"/> into contiguous buffers: values [*shape], gradient [3, *shape] (or none: values only).</summary>
    internal static void SampleInto(Tensor values, Tensor? gradient, Tensor volume, double[] m, long[] offset, bool nearest = false)
    {
        var shape = values.shape;
        if (volume.dim() != 3 || m.Length != 12 || offset.Length != 3 || shape.Length != 3 || (gradient is not null && !gradient.shape.SequenceEqual([3, .. shape])))
            throw new ArgumentException("a [D, H, W] volume, a 3x4 matrix, a 3-D box and a [3, *box] gradient");
        if (volume.numel() >= int.MaxValue) throw new ArgumentException("volume too large for 32-bit offsets");
        var img = volume.contiguous();
        float* src = WarpKernel.Ptr(img), pv = WarpKernel.Ptr(values), pg = gradient is null ? null : WarpKernel.Ptr(gradient);
        int d = (int)img.shape[0], h = (int)img.shape[1], w = (int)img.shape[2];
        long n = shape[0] * shape[1] * shape[2];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        Parallel.For(0, shape[0] * shape[1], options, row => Row(src, d, h, w, m, offset, shape, row, pv, pg, n, nearest));
        GC.KeepAlive(img); GC.KeepAlive(values); GC.KeepAlive(gradient);
        if (!ReferenceEquals(img, volume)) img.Dispose();
    }

    // optimised from the first call: a registration runs these loops a few hundred times, mostly before tiered JIT
    // would have recompiled them
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Row(float* src, int d, int h, int w, double[] m, long[] offset, long[] shape, long row, float* pv, float* pg, long n, bool nearest)
    {
        long a = row / shape[1], b = row % shape[1];
        double qa = offset[0] + a, qb = offset[1] + b;
        // p along the row: start + c * step
        double p0 = m[0] * qa + m[1] * qb + m[2] * offset[2] + m[3];
        double p1 = m[4] * qa + m[5] * qb + m[6] * offset[2] + m[7];
        double p2 = m[8] * qa + m[9] * qb + m[10] * offset[2] + m[11];
        long v = row * shape[2], c = 0;
        if (nearest)
        {
            for (; c < shape[2]; c++, v++)
                pv[v] = Nearest(src, d, h, w, p0 + m[2] * c, p1 + m[6] * c, p2 + m[10] * c);
            return;
        }
        if (Avx2.IsSupported && Fma.IsSupported)
            for (; c + 8 <= shape[2]; c += 8, v += 8)
                if (!Eight(src, d, h, w, p0 + m[2] * c, p1 + m[6] * c, p2 + m[10] * c, (float)m[2], (float)m[6], (float)m[10], pv + v, G(pg, v), n))
                    for (int i = 0; i < 8; i++)
                        Point(src, d, h, w, p0 + m[2] * (c + i), p1 + m[6] * (c + i), p2 + m[10] * (c + i), pv + v + i, G(pg, v + i), n);
        for (; c < shape[2]; c++, v++)
            Point(src, d, h, w, p0 + m[2] * c, p1 + m[6] * c, p2 + m[10] * c, pv + v, G(pg, v), n);
    }

    /// <summary>The gradient slot of voxel v, or null when only values are wanted.</summary>
    static float* G(float* pg, long v) => pg == null ? null : pg + v;

    /// <summary>grid_sample's nearest: the closest voxel (ties to even, as nearbyint), 0 outside.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Nearest(float* s, int d, int h, int w, double p0, double p1, double p2)
    {
        double r0 = Math.Round(p0), r1 = Math.Round(p1), r2 = Math.Round(p2);
        if (r0 < 0 || r1 < 0 || r2 < 0 || r0 > d - 1 || r1 > h - 1 || r2 > w - 1) return 0;
        return s[(long)r0 * h * w + (long)r1 * w + (long)r2];
    }

    static readonly Vector256<float> Lane = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>
    /// Eight consecutive voxels of a row (positions start + lane · step) with gathered corners; false, with nothing
    /// written, when a lane's cell is not wholly inside the volume (those go through <see cref="Point"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Eight(float* s, int d, int h, int w, double start0, double start1, double start2, float step0, float step1, float step2, float* value, float* grad, long n)
    {
        var p0 = Fma.MultiplyAdd(Lane, Vector256.Create(step0), Vector256.Create((float)start0));
        var p1 = Fma.MultiplyAdd(Lane, Vector256.Create(step1), Vector256.Create((float)start1));
        var p2 = Fma.MultiplyAdd(Lane, Vector256.Create(step2), Vector256.Create((float)start2));
        var f0 = Avx.Floor(p0); var f1 = Avx.Floor(p1); var f2 = Avx.Floor(p2);
        var zero = Vector256<float>.Zero;
        // inside: 0 <= floor < size - 1 on every axis, so all eight corners are in the volume
        var inside = Avx.And(Avx.And(Avx.And(Avx.CompareGreaterThanOrEqual(f0, zero), Avx.CompareLessThan(f0, Vector256.Create((float)(d - 1)))),
                                     Avx.And(Avx.CompareGreaterThanOrEqual(f1, zero), Avx.CompareLessThan(f1, Vector256.Create((float)(h - 1))))),
                             Avx.And(Avx.CompareGreaterThanOrEqual(f2, zero), Avx.CompareLessThan(f2, Vector256.Create((float)(w - 1)))));
        if (Avx.MoveMask(inside) != 0xFF) return false;
        int hw = h * w;
        var o = Avx2.Add(Avx2.Add(Avx2.MultiplyLow(Avx.ConvertToVector256Int32WithTruncation(f0), Vector256.Create(hw)),
                                  Avx2.MultiplyLow(Avx.ConvertToVector256Int32WithTruncation(f1), Vector256.Create(w))),
                         Avx.ConvertToVector256Int32WithTruncation(f2));
        var s000 = Avx2.GatherVector256(s, o, 4); var s001 = Avx2.GatherVector256(s + 1, o, 4);
        var s010 = Avx2.GatherVector256(s + w, o, 4); var s011 = Avx2.GatherVector256(s + w + 1, o, 4);
        var s100 = Avx2.GatherVector256(s + hw, o, 4); var s101 = Avx2.GatherVector256(s + hw + 1, o, 4);
        var s110 = Avx2.GatherVector256(s + hw + w, o, 4); var s111 = Avx2.GatherVector256(s + hw + w + 1, o, 4);
        var t0 = Avx.Subtract(p0, f0); var t1 = Avx.Subtract(p1, f1); var t2 = Avx.Subtract(p2, f2);
        // as Point: lerp along k, then j, then i; the differences on the way are the derivatives
        var e00 = Lerp(s000, s001, t2); var e01 = Lerp(s010, s011, t2); var e10 = Lerp(s100, s101, t2); var e11 = Lerp(s110, s111, t2);
        var g0 = Lerp(e00, e01, t1); var g1 = Lerp(e10, e11, t1);
        Avx.Store(value, Lerp(g0, g1, t0));
        if (grad == null) return true;
        Avx.Store(grad, Avx.Subtract(g1, g0));
        Avx.Store(grad + n, Lerp(Avx.Subtract(e01, e00), Avx.Subtract(e11, e10), t0));
        var k0 = Lerp(Avx.Subtract(s001, s000), Avx.Subtract(s011, s010), t1);
        var k1 = Lerp(Avx.Subtract(s101, s100), Avx.Subtract(s111, s110), t1);
        Avx.Store(grad + 2 * n, Lerp(k0, k1, t0));
        return true;
    }

    /// <summary>a + t (b − a).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Lerp(Vector256<float> a, Vector256<float> b, Vector256<float> t) => Fma.MultiplyAdd(t, Avx.Subtract(b, a), a);

    // a static helper, not a local function: capturing the pointer and sizes would keep them out of registers on the fast path
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float At(float* s, int d, int h, int w, int i, int j, int k) =>
        (uint)i < (uint)d && (uint)j < (uint)h && (uint)k < (uint)w ? s[(long)i * h * w + (long)j * w + k] : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Point(float* s, int d, int h, int w, double p0, double p1, double p2, float* value, float* grad, long n)
    {
        double f0 = Math.Floor(p0), f1 = Math.Floor(p1), f2 = Math.Floor(p2);
        float t0 = (float)(p0 - f0), t1 = (float)(p1 - f1), t2 = (float)(p2 - f2);
        float u0 = 1 - t0, u1 = 1 - t1, u2 = 1 - t2;
        float s000, s001, s010, s011, s100, s101, s110, s111;
        long hw = (long)h * w;
        if (f0 >= 0 && f1 >= 0 && f2 >= 0 && f0 < d - 1 && f1 < h - 1 && f2 < w - 1)
        {
            float* c = s + (long)f0 * hw + (long)f1 * w + (long)f2;
            s000 = c[0]; s001 = c[1]; s010 = c[w]; s011 = c[w + 1];
            s100 = c[hw]; s101 = c[hw + 1]; s110 = c[hw + w]; s111 = c[hw + w + 1];
        }
        else if (f0 < -1 || f1 < -1 || f2 < -1 || f0 >= d || f1 >= h || f2 >= w)
        {
            *value = 0;
            if (grad != null) { grad[0] = 0; grad[n] = 0; grad[2 * n] = 0; }
            return;
        }
        else
        {
            int i0 = (int)f0, j0 = (int)f1, k0 = (int)f2;
            s000 = At(s, d, h, w, i0, j0, k0); s001 = At(s, d, h, w, i0, j0, k0 + 1);
            s010 = At(s, d, h, w, i0, j0 + 1, k0); s011 = At(s, d, h, w, i0, j0 + 1, k0 + 1);
            s100 = At(s, d, h, w, i0 + 1, j0, k0); s101 = At(s, d, h, w, i0 + 1, j0, k0 + 1);
            s110 = At(s, d, h, w, i0 + 1, j0 + 1, k0); s111 = At(s, d, h, w, i0 + 1, j0 + 1, k0 + 1);
        }
        // interpolate along k first, then j: the partial sums give all three derivatives
        float e00 = u2 * s000 + t2 * s001, e01 = u2 * s010 + t2 * s011, e10 = u2 * s100 + t2 * s101, e11 = u2 * s110 + t2 * s111;
        float g0 = u1 * e00 + t1 * e01, g1 = u1 * e10 + t1 * e11;
        *value = u0 * g0 + t0 * g1;
        if (grad == null) return;
        grad[0] = g1 - g0;
        grad[n] = u0 * (e01 - e00) + t0 * (e11 - e10);
        grad[2 * n] = u0 * (u1 * (s001 - s000) + t1 * (s011 - s010)) + t0 * (u1 * (s101 - s100) + t1 * (s111 - s110));
    }
}
