using System.Numerics;
using System.Runtime.CompilerServices;
using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>
/// Window sums over a cube of odd width with zero padding, for [C, D, H, W] float32 CPU tensors without autograd:
/// one pass per axis, the outer two adding whole rows as vectors. libtorch runs the same separable filter as a
/// depthwise conv3d at a few GFLOP/s; this is memory-bound and about ten times faster. Each output is a direct sum
/// of its window (no running sum), so rounding does not drift along an axis. The filter is symmetric, so it is also
/// its own adjoint: the gradient of a loss through window sums is the window sum of the gradient.
/// </summary>
internal static unsafe class BoxSumKernel
{
    internal static Tensor Sum(Tensor x, int window)
    {
        var src = x.contiguous();
        var output = empty(src.shape, ScalarType.Float32);
        using (var scratch = empty(src.shape, ScalarType.Float32)) SumInto(output, scratch, src, window);
        if (!ReferenceEquals(src, x)) src.Dispose();
        return output;
    }

    /// <summary>
    /// <see cref="Sum"/> into <paramref name="output"/>, with <paramref name="scratch"/> for the middle pass: an optimiser
    /// that filters the same shapes hundreds of times keeps its buffers instead of faulting in fresh pages every call.
    /// All three contiguous, of one shape, distinct.
    /// </summary>
    internal static void SumInto(Tensor output, Tensor scratch, Tensor x, int window)
    {
        if (x.dim() != 4 || window < 1 || window % 2 == 0) throw new ArgumentException("a [C, D, H, W] tensor and an odd window");
        if (!x.is_contiguous() || !output.shape.SequenceEqual(x.shape) || !scratch.shape.SequenceEqual(x.shape))
            throw new ArgumentException("output and scratch must have the input's shape, and the input must be contiguous");
        var src = x; var a = output; var b = scratch;
        long c = src.shape[0], d = src.shape[1], h = src.shape[2], w = src.shape[3];
        float* ps = WarpKernel.Ptr(src), pa = WarpKernel.Ptr(a), pb = WarpKernel.Ptr(b);
        int r = window / 2;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        // along k (contiguous): scalar sums per row
        Parallel.For(0, c * d, options, plane => AlongK(ps + plane * h * w, pa + plane * h * w, h, w, r));
        // along j, then along i: an output row is the sum of up to `window` input rows
        Parallel.For(0, c * d, options, plane =>
        {
            for (long j = 0; j < h; j++)
                SumRows(pb + (plane * h + j) * w, pa + plane * h * w, j, h, w, r, w);
        });
        Parallel.For(0, c * d, options, plane =>
        {
            long ch = plane / d, i = plane % d;
            for (long j = 0; j < h; j++)
                SumRows(pa + (plane * h + j) * w, pb + ch * d * h * w + j * w, i, d, h * w, r, w);
        });
        GC.KeepAlive(src); GC.KeepAlive(a); GC.KeepAlive(b);
    }

    // optimised from the first call (as in AffineSamplingKernel): these loops run a few hundred times per registration
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AlongK(float* src, float* dst, long h, long w, int r)
    {
        // the row shifted by each offset of the window, added as vectors
        for (long j = 0; j < h; j++)
        {
            float* i = src + j * w, o = dst + j * w;
            new Span<float>(o, (int)w).Clear();
            for (long t = -r; t <= r; t++)
                if (Math.Abs(t) < w) AddRow(o + Math.Max(0, -t), i + Math.Max(0, t), w - Math.Abs(t));
        }
    }

    /// <summary>dst[0..len) = Σ rows (at - r .. at + r) ∩ [0, count) of first, rows <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumRows(float* dst, float* first, long at, long count, long stride, int r, long len)
    {
        long lo = Math.Max(0, at - r), hi = Math.Min(count - 1, at + r);
        new Span<float>(dst, (int)len).Clear();
        for (long t = lo; t <= hi; t++) AddRow(dst, first + t * stride, len);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    static void AddRow(float* dst, float* src, long len)
    {
        long i = 0, vw = Vector<float>.Count;
        for (; i + vw <= len; i += vw)
            Unsafe.WriteUnaligned(dst + i, Unsafe.ReadUnaligned<Vector<float>>(dst + i) + Unsafe.ReadUnaligned<Vector<float>>(src + i));
        for (; i < len; i++) dst[i] += src[i];
    }
}
