using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Trilinear / nearest 3D warping over the tensors' memory, for the CPU without autograd. libtorch's 3D grid_sample
/// is not vectorised, needs a normalised sampling grid built first (a fourth field-sized tensor) and a separate
/// add for u + u∘(id + u); registration does that about thirty times per pair on millions of voxels, which made it
/// slower than the network. Same arithmetic as grid_sample(align_corners: true, padding: zeros) on voxel
/// displacements (channel 0 = last axis); <see cref="SpatialTransformer"/> chooses it and keeps libtorch's path for
/// autograd, other devices and 2D.
/// </summary>
internal static unsafe class WarpKernel
{
    /// <summary>out = addend + image∘(id + disp); image [N, C, D, H, W], disp [N or 1, 3, D, H, W], addend like image or null.</summary>
    internal static Tensor Warp(Tensor image, Tensor disp, Tensor? addend = null, bool nearest = false)
    {
        var img = image.contiguous();
        var dsp = disp.contiguous();
        var add = addend?.contiguous();
        long n = img.shape[0], c = img.shape[1], d = img.shape[2], h = img.shape[3], w = img.shape[4];
        var output = empty(img.shape, ScalarType.Float32);
        float* pi = Ptr(img), pd = Ptr(dsp), po = Ptr(output);
        float* pa = add is null ? null : Ptr(add);
        long vol = d * h * w;
        bool sharedDisp = dsp.shape[0] == 1;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        Parallel.For(0, n * d, options, row =>
        {
            long b = row / d, z = row % d;
            float* src = pi + b * c * vol;
            float* dx = pd + (sharedDisp ? 0 : b * 3 * vol);
            float* dy = dx + vol, dz = dy + vol;
            float* dst = po + b * c * vol;
            float* ad = pa == null ? null : pa + b * c * vol;
            if (nearest) NearestRow(src, dx, dy, dz, dst, ad, (int)c, vol, (int)z, (int)d, (int)h, (int)w);
            else LinearRow(src, dx, dy, dz, dst, ad, (int)c, vol, (int)z, (int)d, (int)h, (int)w);
        });
        GC.KeepAlive(img); GC.KeepAlive(dsp); GC.KeepAlive(add);
        if (!ReferenceEquals(img, image)) img.Dispose();
        if (!ReferenceEquals(dsp, disp)) dsp.Dispose();
        if (add is not null && !ReferenceEquals(add, addend)) add.Dispose();
        return output;
    }

    static void LinearRow(float* src, float* dx, float* dy, float* dz, float* dst, float* ad, int c, long vol, int z, int d, int h, int w)
    {
        long hw = (long)h * w;
        for (int y = 0; y < h; y++)
        {
            long v = z * hw + (long)y * w;
            for (int x = 0; x < w; x++, v++)
            {
                var cell = Cell.Of(x, y, z, dx[v], dy[v], dz[v]);
                var (x0, y0, z0, ax, ay, az) = cell;
                float bx = 1 - ax, by = 1 - ay, bz = 1 - az;
                if (cell.Inside(d, h, w))
                {
                    long o = z0 * hw + (long)y0 * w + x0;
                    float w000 = bz * by * bx, w001 = bz * by * ax, w010 = bz * ay * bx, w011 = bz * ay * ax;
                    float w100 = az * by * bx, w101 = az * by * ax, w110 = az * ay * bx, w111 = az * ay * ax;
                    for (int k = 0; k < c; k++)
                    {
                        float* s = src + k * vol + o;
                        float val = w000 * s[0] + w001 * s[1] + w010 * s[w] + w011 * s[w + 1]
                                  + w100 * s[hw] + w101 * s[hw + 1] + w110 * s[hw + w] + w111 * s[hw + w + 1];
                        dst[k * vol + v] = ad == null ? val : ad[k * vol + v] + val;
                    }
                }
                else
                {
                    for (int k = 0; k < c; k++)
                    {
                        float* s = src + k * vol;
                        float val = 0;
                        for (int cz = 0; cz < 2; cz++)
                        {
                            int zz = z0 + cz; if ((uint)zz >= (uint)d) continue;
                            float wz = cz == 0 ? bz : az;
                            for (int cy = 0; cy < 2; cy++)
                            {
                                int yy = y0 + cy; if ((uint)yy >= (uint)h) continue;
                                float wzy = wz * (cy == 0 ? by : ay);
                                long row = zz * hw + (long)yy * w;
                                if ((uint)x0 < (uint)w) val += wzy * bx * s[row + x0];
                                if ((uint)(x0 + 1) < (uint)w) val += wzy * ax * s[row + x0 + 1];
                            }
                        }
                        dst[k * vol + v] = ad == null ? val : ad[k * vol + v] + val;
                    }
                }
            }
        }
    }

    /// <summary>The cell of voxel (x, y, z) displaced by (dx, dy, dz): its first corner and the position's fractions in it.</summary>
    internal readonly record struct Cell(int X0, int Y0, int Z0, float Ax, float Ay, float Az)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Cell Of(int x, int y, int z, float dx, float dy, float dz)
        {
            float px = x + dx, py = y + dy, pz = z + dz;
            float fx0 = MathF.Floor(px), fy0 = MathF.Floor(py), fz0 = MathF.Floor(pz);
            return new Cell((int)fx0, (int)fy0, (int)fz0, px - fx0, py - fy0, pz - fz0);
        }

        /// <summary>All eight corners lie in a D x H x W volume (no bounds checks needed).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Inside(int d, int h, int w) => X0 >= 0 && Y0 >= 0 && Z0 >= 0 && X0 < w - 1 && Y0 < h - 1 && Z0 < d - 1;
    }

    static void NearestRow(float* src, float* dx, float* dy, float* dz, float* dst, float* ad, int c, long vol, int z, int d, int h, int w)
    {
        long hw = (long)h * w;
        for (int y = 0; y < h; y++)
        {
            long v = z * hw + (long)y * w;
            for (int x = 0; x < w; x++, v++)
            {
                // grid_sample's nearest rounds half to even (nearbyint), as MathF.Round does
                int xi = (int)MathF.Round(x + dx[v]), yi = (int)MathF.Round(y + dy[v]), zi = (int)MathF.Round(z + dz[v]);
                bool inside = (uint)xi < (uint)w && (uint)yi < (uint)h && (uint)zi < (uint)d;
                long o = zi * hw + (long)yi * w + xi;
                for (int k = 0; k < c; k++)
                {
                    float val = inside ? src[k * vol + o] : 0f;
                    dst[k * vol + v] = ad == null ? val : ad[k * vol + v] + val;
                }
            }
        }
    }

    /// <summary>The data of a float32 CPU tensor (shared with <see cref="FieldCompositionKernel"/>); the caller keeps the tensor alive.</summary>
    internal static float* Ptr(Tensor t)
    {
        if (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU) throw new ArgumentException("float32 CPU tensors only");
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, float>(t.bytes)));
    }
}
