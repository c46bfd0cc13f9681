using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// disp + field∘(id + disp) for one 3D displacement field pair (voxels, channel 0 = last axis): the operation
/// scaling and squaring repeats and composition ends with. The field is sampled from a channels-last copy
/// ([D, H, W, 3]) where a corner's three components sit next to its x-neighbour's, so one 8-float load fetches
/// both x-corners of a row and a voxel needs four loads; on channel-first planes that took 24 scalar loads (or
/// gathers, no faster), and <see cref="WarpKernel"/> took about twice as long per squaring step here. Positions and weights are
/// computed eight voxels at a time from the channel-first displacement. Same arithmetic as
/// grid_sample(align_corners: true, padding: zeros). CPU, float32, no autograd.
/// </summary>
internal static unsafe class FieldCompositionKernel
{
    /// <summary>
    /// output = disp + field∘(id + disp); disp and output [3, D, H, W], field and the optional outputChannelsLast
    /// (the same result, for the next step) [D, H, W, 3]; all contiguous float32, outputs aliasing no input.
    /// </summary>
    internal static void ComposeInto(Tensor output, Tensor? outputChannelsLast, Tensor fieldChannelsLast, Tensor disp)
    {
        long d = disp.shape[1], h = disp.shape[2], w = disp.shape[3];
        long[] planar = [3, d, h, w], last = [d, h, w, 3];
        Check(disp, planar); Check(output, planar); Check(fieldChannelsLast, last);
        if (outputChannelsLast is not null) Check(outputChannelsLast, last);
        if (d * h * w * 3 + 8 >= int.MaxValue) throw new ArgumentException("field too large for 32-bit offsets");
        var g = new Geometry(Ptr(fieldChannelsLast), Ptr(disp), Ptr(output), outputChannelsLast is null ? null : Ptr(outputChannelsLast), (int)d, (int)h, (int)w);
        bool vector = Avx2.IsSupported && Fma.IsSupported;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        Parallel.For(0, d, options, z => Plane(g, (int)z, vector));
        GC.KeepAlive(output); GC.KeepAlive(outputChannelsLast); GC.KeepAlive(fieldChannelsLast); GC.KeepAlive(disp);
    }

    readonly struct Geometry(float* field, float* disp, float* output, float* outputLast, int d, int h, int w)
    {
        public readonly float* Field = field, Disp = disp, Out = output, OutLast = outputLast;
        public readonly int D = d, H = h, W = w;
        public long Vol => (long)D * H * W;
    }

    static void Plane(Geometry g, int z, bool vector)
    {
        int w = g.W, h = g.H;
        long vol = g.Vol;
        float* dx = g.Disp, dy = dx + vol, dz = dy + vol;
        int* offsets = stackalloc int[8];
        float* weights = stackalloc float[6 * 8];
        for (int y = 0; y < h; y++)
        {
            long v = ((long)z * h + y) * w;
            int x = 0;
            if (vector)
                for (; x + 8 <= w; x += 8, v += 8)
                {
                    if (!Weights(g, dx + v, dy + v, dz + v, x, y, z, offsets, weights))
                    {
                        for (int i = 0; i < 8; i++) Voxel(g, v + i, x + i, y, z);
                        continue;
                    }
                    for (int i = 0; i < 8; i++) Corners(g, v + i, offsets[i], weights + i);
                }
            for (; x < w; x++, v++) Voxel(g, v, x, y, z);
        }
    }

    /// <summary>
    /// Offsets and trilinear weights of voxels v..v+7 of a row, eight at a time; false when one samples outside
    /// the volume or so near its end that an 8-float load would leave the buffer (those go through <see cref="Voxel"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Weights(Geometry g, float* dx, float* dy, float* dz, int x, int y, int z, int* offsets, float* weights)
    {
        int w = g.W, h = g.H;
        var px = Avx.Add(Avx.LoadVector256(dx), Avx.Add(Vector256.Create((float)x), Lane));
        var py = Avx.Add(Avx.LoadVector256(dy), Vector256.Create((float)y));
        var pz = Avx.Add(Avx.LoadVector256(dz), Vector256.Create((float)z));
        var fx = Avx.Floor(px); var fy = Avx.Floor(py); var fz = Avx.Floor(pz);
        var ix = Avx.ConvertToVector256Int32WithTruncation(fx);
        var iy = Avx.ConvertToVector256Int32WithTruncation(fy);
        var iz = Avx.ConvertToVector256Int32WithTruncation(fz);
        // inside: 0 <= i < size - 1 on every axis; the last z-row of corners must also leave room for 8 floats
        var outside = Avx2.Or(Avx2.Or(Outside(ix, w - 1), Outside(iy, h - 1)), Outside(iz, g.D - 1));
        var lastSlab = Avx2.CompareEqual(iz, Vector256.Create(g.D - 2));
        outside = Avx2.Or(outside, Avx2.And(lastSlab, Avx2.CompareGreaterThan(iy, Vector256.Create(h - 3))));
        if (!Avx.TestZ(outside, outside)) return false;
        var o = Avx2.MultiplyLow(Avx2.Add(Avx2.MultiplyLow(Avx2.Add(Avx2.MultiplyLow(iz, Vector256.Create(h)), iy), Vector256.Create(w)), ix), Vector256.Create(3));
        Avx.Store(offsets, o);
        var one = Vector256.Create(1f);
        var ax = Avx.Subtract(px, fx); var ay = Avx.Subtract(py, fy); var az = Avx.Subtract(pz, fz);
        var bx = Avx.Subtract(one, ax); var by = Avx.Subtract(one, ay); var bz = Avx.Subtract(one, az);
        Avx.Store(weights, Avx.Multiply(bz, by));
        Avx.Store(weights + 8, Avx.Multiply(bz, ay));
        Avx.Store(weights + 16, Avx.Multiply(az, by));
        Avx.Store(weights + 24, Avx.Multiply(az, ay));
        Avx.Store(weights + 32, bx);
        Avx.Store(weights + 40, ax);
        return true;
    }

    /// <summary>Lanes where i &lt; 0 or i &gt; max (the corner i + 1 must be inside too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Outside(Vector256<int> i, int max) =>
        Avx2.Or(Avx2.CompareGreaterThan(Vector256<int>.Zero, i), Avx2.CompareGreaterThan(i, Vector256.Create(max - 1)));

    /// <summary>One voxel from its eight corners: four 8-float loads, each holding a row's x0 and x0 + 1 corners.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Corners(Geometry g, long v, int offset, float* weights)
    {
        long rowStride = 3L * g.W, slabStride = 3L * g.W * g.H;
        float* s = g.Field + offset;
        var acc = Avx.Multiply(Avx.LoadVector256(s), Vector256.Create(weights[0]));
        acc = Fma.MultiplyAdd(Avx.LoadVector256(s + rowStride), Vector256.Create(weights[8]), acc);
        acc = Fma.MultiplyAdd(Avx.LoadVector256(s + slabStride), Vector256.Create(weights[16]), acc);
        acc = Fma.MultiplyAdd(Avx.LoadVector256(s + slabStride + rowStride), Vector256.Create(weights[24]), acc);
        // lanes 0-2 hold the x0 corner, 3-5 the x0 + 1 corner
        acc = Avx.Multiply(acc, Avx.Blend(Vector256.Create(weights[32]), Vector256.Create(weights[40]), 0b0011_1000));
        var sum = Avx.Add(acc, Avx2.PermuteVar8x32(acc, NextCorner));
        Store(g, v, sum.GetElement(0), sum.GetElement(1), sum.GetElement(2));
    }

    /// <summary>One voxel in scalar arithmetic, with zeros outside the volume.</summary>
    static void Voxel(Geometry g, long v, int x, int y, int z)
    {
        int w = g.W, h = g.H, d = g.D;
        long vol = g.Vol, hw = (long)h * w;
        float px = x + g.Disp[v], py = y + g.Disp[vol + v], pz = z + g.Disp[2 * vol + v];
        float fx = MathF.Floor(px), fy = MathF.Floor(py), fz = MathF.Floor(pz);
        int x0 = (int)fx, y0 = (int)fy, z0 = (int)fz;
        float ax = px - fx, ay = py - fy, az = pz - fz;
        float sx = 0, sy = 0, sz = 0;
        for (int cz = 0; cz < 2; cz++)
        {
            int zz = z0 + cz; if ((uint)zz >= (uint)d) continue;
            float wz = cz == 0 ? 1 - az : az;
            for (int cy = 0; cy < 2; cy++)
            {
                int yy = y0 + cy; if ((uint)yy >= (uint)h) continue;
                float wzy = wz * (cy == 0 ? 1 - ay : ay);
                for (int cx = 0; cx < 2; cx++)
                {
                    int xx = x0 + cx; if ((uint)xx >= (uint)w) continue;
                    float wt = wzy * (cx == 0 ? 1 - ax : ax);
                    float* s = g.Field + (zz * hw + (long)yy * w + xx) * 3;
                    sx += wt * s[0]; sy += wt * s[1]; sz += wt * s[2];
                }
            }
        }
        Store(g, v, sx, sy, sz);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Geometry g, long v, float sx, float sy, float sz)
    {
        long vol = g.Vol;
        float rx = g.Disp[v] + sx, ry = g.Disp[vol + v] + sy, rz = g.Disp[2 * vol + v] + sz;
        g.Out[v] = rx; g.Out[vol + v] = ry; g.Out[2 * vol + v] = rz;
        if (g.OutLast != null) { float* a = g.OutLast + 3 * v; a[0] = rx; a[1] = ry; a[2] = rz; }
    }

    static readonly Vector256<float> Lane = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
    static readonly Vector256<int> NextCorner = Vector256.Create(3, 4, 5, 6, 7, 0, 1, 2);

    static void Check(Tensor t, long[] shape)
    {
        if (!t.is_contiguous() || !t.shape.SequenceEqual(shape))
            throw new ArgumentException($"expected a contiguous [{string.Join(", ", shape)}] tensor, got [{string.Join(", ", t.shape)}]");
    }

    static float* Ptr(Tensor t) => WarpKernel.Ptr(t);
}
