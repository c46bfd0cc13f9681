using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// The backward pass of <see cref="WarpKernel"/>'s trilinear warp out = image∘(id + disp) (3D, float32, CPU, zeros
/// outside, channel 0 of disp along the last axis): the gradient with respect to the displacement (the interpolant's
/// spatial gradient times the incoming gradient, summed over channels) and, when asked, with respect to the image
/// (the incoming gradient scattered to the eight corners with the same weights). libtorch's grid_sampler_3d backward
/// does this on one thread per batch item; in a SYMNet training step (seven squarings of two fields plus the image
/// warps, all through autograd) it was the largest cost. Voxels of different planes can scatter their image gradient
/// to the same corner: where displacements are small against the volume's depth, alternating slabs of planes run in
/// two phases into one buffer (<see cref="SlabCount"/>); otherwise each worker has its own zeroed buffer, summed at the end.
/// </summary>
internal static unsafe class WarpBackwardKernel
{
    /// <param name="image">[N, C, D, H, W]</param>
    /// <param name="disp">[N or 1, 3, D, H, W]</param>
    /// <param name="grad">d loss / d out, [N, C, D, H, W]</param>
    /// <returns>d loss / d disp (disp's shape; summed over the batch when disp is shared) and d loss / d image (or null)</returns>
    internal static (Tensor Disp, Tensor? Image) Backward(Tensor image, Tensor disp, Tensor grad, bool imageGradient)
    {
        var img = image.contiguous(); var dsp = disp.contiguous(); var g = grad.contiguous();
        long n = img.shape[0], c = img.shape[1], d = img.shape[2], h = img.shape[3], w = img.shape[4], vol = d * h * w;
        bool shared = dsp.shape[0] == 1 && n > 1;
        int workers = Math.Max(1, Math.Min(get_num_threads(), (int)d));
        float* pi = WarpKernel.Ptr(img), pd = WarpKernel.Ptr(dsp), pg = WarpKernel.Ptr(g);
        var geometry = new Geometry((int)c, (int)d, (int)h, (int)w);
        // tasks (first plane, end plane, image-gradient buffer), in phases run one after the other. Small displacements:
        // alternate slabs of planes in two phases share one buffer, since a slab's scatters stay within its planes ± the
        // largest z displacement, which the slab between two of one phase is thicker than. Otherwise each worker takes a
        // contiguous run of planes and its own buffer, summed at the end.
        int slabs = imageGradient ? SlabCount(dsp, (int)d, workers) : 0;
        var phases = slabs > 0
            ? new[] { 0, 1 }.Select(p => Enumerable.Range(0, slabs).Where(s => s % 2 == p).Select(s => (d * s / slabs, d * (s + 1) / slabs, 0L)).ToArray()).ToArray()
            : [Enumerable.Range(0, workers).Select(k => (d * k / workers, d * (k + 1) / workers, (long)k)).ToArray()];
        long buffers = slabs > 0 ? 1 : workers;
        // a task writes the displacement gradient of its own planes only, for every batch item: one buffer serves all
        var gDisp = zeros([shared ? 1 : n, 3, d, h, w]);
        var gImage = imageGradient ? zeros([buffers, n, c, d, h, w]) : null;
        float* pgd = WarpKernel.Ptr(gDisp);
        float* pgi = gImage is null ? null : WarpKernel.Ptr(gImage);
        foreach (var tasks in phases)
            Parallel.For(0, tasks.Length, new ParallelOptions { MaxDegreeOfParallelism = workers }, t =>
            {
                var (z0, z1, buffer) = tasks[t];
                for (long b = 0; b < n; b++)
                {
                    float* dx = pd + (dsp.shape[0] == 1 ? 0 : b * 3 * vol);
                    float* outDisp = pgd + (shared ? 0 : b) * 3 * vol;
                    float* outImage = pgi == null ? null : pgi + (buffer * n + b) * c * vol;
                    for (long z = z0; z < z1; z++)
                        Plane(geometry, pi + b * c * vol, dx, pg + b * c * vol, outDisp, outImage, (int)z);
                }
            });
        Tensor? imageGrad = gImage is null ? null : buffers == 1 ? gImage[0] : gImage.sum([0L]);
        gImage?.Dispose();   // a view keeps its storage
        GC.KeepAlive(img); GC.KeepAlive(dsp); GC.KeepAlive(g); GC.KeepAlive(gDisp); GC.KeepAlive(gImage);
        foreach (var (copy, original) in new[] { (img, image), (dsp, disp), (g, grad) })
            if (!ReferenceEquals(copy, original)) copy.Dispose();
        return (gDisp, imageGrad);
    }

    /// <summary>
    /// Slabs for the shared-buffer path, 0 when it cannot be used: a voxel of plane z scatters into planes
    /// [z − ⌈max |dz|⌉, z + ⌈max |dz|⌉ + 1], so slabs of at least 2 (⌈max |dz|⌉ + 1) planes keep two slabs of one phase
    /// apart. Needs at least two slabs (and two per worker to keep the workers busy); large displacements fall back to
    /// a zeroed buffer per worker, summed at the end.
    /// </summary>
    internal static int SlabCount(Tensor dsp, int d, int workers)
    {
        double maxDz;
        using (no_grad())
        {
            using var dz = dsp.select(1, 2);
            using var abs = dz.abs();
            using var max = abs.max();
            maxDz = max.item<float>();
        }
        if (!double.IsFinite(maxDz)) return 0;
        long reach = (long)Math.Ceiling(maxDz) + 1;
        long slabs = Math.Min(d / (2 * reach), 4L * workers);
        return slabs >= 2 * workers ? (int)slabs : 0;
    }

    readonly record struct Geometry(int C, int D, int H, int W);

    /// <summary>A voxel whose eight corners are all in the volume (o: the first corner): straight-line code, no bounds checks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Inside(float* src, float* g, float* outDisp, float* outImage, int c, long vol, long hw, int w, long v, long o, float ax, float ay, float az)
    {
        float bx = 1 - ax, by = 1 - ay, bz = 1 - az;
        float gx = 0, gy = 0, gz = 0;
        for (int k = 0; k < c; k++)
        {
            float go = g[k * vol + v];
            if (go == 0) continue;
            float* s = src + k * vol + o;
            float s000 = s[0], s001 = s[1], s010 = s[w], s011 = s[w + 1];
            float s100 = s[hw], s101 = s[hw + 1], s110 = s[hw + w], s111 = s[hw + w + 1];
            // derivatives of the trilinear interpolant along x, y, z (as in AffineSamplingKernel.Point)
            gx += go * (bz * (by * (s001 - s000) + ay * (s011 - s010)) + az * (by * (s101 - s100) + ay * (s111 - s110)));
            gy += go * (bz * (bx * (s010 - s000) + ax * (s011 - s001)) + az * (bx * (s110 - s100) + ax * (s111 - s101)));
            gz += go * (by * (bx * (s100 - s000) + ax * (s101 - s001)) + ay * (bx * (s110 - s010) + ax * (s111 - s011)));
            if (outImage == null) continue;
            float* t = outImage + k * vol + o;
            float zy00 = bz * by * go, zy01 = bz * ay * go, zy10 = az * by * go, zy11 = az * ay * go;
            t[0] += zy00 * bx; t[1] += zy00 * ax; t[w] += zy01 * bx; t[w + 1] += zy01 * ax;
            t[hw] += zy10 * bx; t[hw + 1] += zy10 * ax; t[hw + w] += zy11 * bx; t[hw + w + 1] += zy11 * ax;
        }
        outDisp[v] += gx; outDisp[vol + v] += gy; outDisp[2 * vol + v] += gz;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Plane(Geometry s, float* src, float* dx, float* g, float* outDisp, float* outImage, int z)
    {
        int c = s.C, d = s.D, h = s.H, w = s.W;
        long hw = (long)h * w, vol = d * hw;
        float* dy = dx + vol, dz = dy + vol;
        for (int y = 0; y < h; y++)
        {
            long v = z * hw + (long)y * w;
            for (int x = 0; x < w; x++, v++)
            {
                var cell = WarpKernel.Cell.Of(x, y, z, dx[v], dy[v], dz[v]);
                var (x0, y0, z0, ax, ay, az) = cell;
                if (cell.Inside(d, h, w))
                {
                    Inside(src, g, outDisp, outImage, c, vol, hw, w, v, z0 * hw + (long)y0 * w + x0, ax, ay, az);
                    continue;
                }
                // on the border: out-of-volume corners have value 0 and take no gradient
                if (x0 < -1 || y0 < -1 || z0 < -1 || x0 >= w || y0 >= h || z0 >= d) continue;
                float bx = 1 - ax, by = 1 - ay, bz = 1 - az;
                float gx = 0, gy = 0, gz = 0;
                for (int k = 0; k < c; k++)
                {
                    float go = g[k * vol + v];
                    if (go == 0) continue;
                    float* sk = src + k * vol;
                    float* ik = outImage == null ? null : outImage + k * vol;
                    for (int cz = 0; cz < 2; cz++)
                    {
                        int zz = z0 + cz; if ((uint)zz >= (uint)d) continue;
                        float wz = cz == 0 ? bz : az, sz = cz == 0 ? -1 : 1;
                        for (int cy = 0; cy < 2; cy++)
                        {
                            int yy = y0 + cy; if ((uint)yy >= (uint)h) continue;
                            float wy = cy == 0 ? by : ay, sy = cy == 0 ? -1 : 1;
                            long row = zz * hw + (long)yy * w;
                            for (int cx = 0; cx < 2; cx++)
                            {
                                int xx = x0 + cx; if ((uint)xx >= (uint)w) continue;
                                float wx = cx == 0 ? bx : ax, sx = cx == 0 ? -1 : 1;
                                float val = sk[row + xx] * go;
                                gx += sx * wy * wz * val;
                                gy += sy * wx * wz * val;
                                gz += sz * wx * wy * val;
                                if (ik != null) ik[row + xx] += wx * wy * wz * go;
                            }
                        }
                    }
                }
                outDisp[v] += gx; outDisp[vol + v] += gy; outDisp[2 * vol + v] += gz;
            }
        }
    }
}
