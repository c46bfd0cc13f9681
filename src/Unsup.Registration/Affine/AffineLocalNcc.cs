using System.Runtime.CompilerServices;
using Unsup.Registration.Losses;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Affine;

/// <summary>
/// The local NCC loss of <see cref="LocalNcc"/> between a fixed box and the moving volume pulled through an affine
/// map of voxel indices, with its gradient with respect to that map's 12 entries written out by hand instead of taken
/// by autograd through grid_sample and three depthwise convolutions (ten times the work). With window sums
/// S = B(·) (B symmetric, so its own adjoint):
/// cc = cross² / (var_I var_J + eps), cross = S(IJ) − S(I) S(J) / n, var_J = S(J²) − S(J)² / n, loss = −mean cc;
/// dloss/dJ = B(g_S(J)) + 2 J B(g_S(J²)) + I B(g_S(IJ)), and dloss/dM = Σ_q dloss/dJ(q) ∇J(q) [q; 1]ᵀ.
/// Every per-voxel step is a pass over the tensors' memory (CPU, float32): at 6 mm an iteration is a few hundred
/// thousand voxel operations, and forty libtorch calls per iteration cost more than the arithmetic.
/// </summary>
internal sealed unsafe class AffineLocalNcc : IDisposable
{
    readonly Tensor fixedBox, iSum, iVar, moving;
    // per-iteration buffers, reused: sampled values [*box], their gradient, statistics, window sums, filter scratch [3, *box]
    readonly Tensor j, gradJ, stats, sums, scratch;
    readonly long[] offset, shape;
    readonly int window;
    readonly double n, eps;

    /// <param name="fixedBox">the fixed volume's box [D, H, W] whose voxel (0, 0, 0) is voxel <paramref name="offset"/> of its grid</param>
    /// <param name="moving">the moving volume [D', H', W']</param>
    public AffineLocalNcc(Tensor fixedBox, long[] offset, Tensor moving, int window, double eps = 1e-5)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        this.fixedBox = fixedBox.to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
        this.moving = moving.to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
        this.offset = offset; shape = fixedBox.shape; this.window = window; this.eps = eps;
        n = Math.Pow(window, 3);
        var fixedSums = BoxSumKernel.Sum(stack([this.fixedBox, this.fixedBox.square()]), window);
        iSum = fixedSums[0].contiguous().MoveToOuterDisposeScope();
        iVar = (fixedSums[1] - iSum.square() / n).contiguous().MoveToOuterDisposeScope();
        j = empty(shape).MoveToOuterDisposeScope();
        gradJ = empty([3, .. shape]).MoveToOuterDisposeScope();
        stats = empty([3, .. shape]).MoveToOuterDisposeScope();
        sums = empty([3, .. shape]).MoveToOuterDisposeScope();
        scratch = empty([3, .. shape]).MoveToOuterDisposeScope();
    }

    /// <summary>The loss at the 3x4 voxel map <paramref name="m"/> (row-major) and its gradient with respect to m (row-major).</summary>
    public (double Loss, double[] Gradient) Evaluate(double[] m)
    {
        AffineSamplingKernel.SampleInto(j, gradJ, moving, m, offset);
        long count = j.numel(), rows = shape[0] * shape[1], len = shape[2];
        var p = new Ptrs(WarpKernel.Ptr(j), WarpKernel.Ptr(gradJ), WarpKernel.Ptr(fixedBox), WarpKernel.Ptr(iSum), WarpKernel.Ptr(iVar), WarpKernel.Ptr(stats), count);
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        Parallel.For(0, rows, options, r => Statistics(p, r * len, len));

        BoxSumKernel.SumInto(sums, scratch, stats, window);
        var rowLoss = new double[rows];
        var ps = p.WithSums(WarpKernel.Ptr(sums));
        Parallel.For(0, rows, options, r => rowLoss[r] = SumGradients(ps, r * len, len, n, eps, 1.0 / count));

        BoxSumKernel.SumInto(sums, scratch, stats, window); // stats now hold dloss/dS
        var rowGrad = new double[rows * 12];
        Parallel.For(0, rows, options, r => MapGradient(ps, r, shape, offset, rowGrad));
        GC.KeepAlive(j); GC.KeepAlive(gradJ); GC.KeepAlive(stats); GC.KeepAlive(sums); GC.KeepAlive(scratch);

        var grad = new double[12];
        for (long r = 0; r < rows; r++) for (int k = 0; k < 12; k++) grad[k] += rowGrad[r * 12 + k];
        return (-rowLoss.Sum() / count, grad);
    }

    readonly struct Ptrs(float* j, float* gradJ, float* i, float* iSum, float* iVar, float* stats, long count, float* sums = null)
    {
        public readonly float* J = j, GradJ = gradJ, I = i, ISum = iSum, IVar = iVar, Stats = stats, Sums = sums;
        public readonly long Count = count;
        public Ptrs WithSums(float* s) => new(J, GradJ, I, ISum, IVar, Stats, Count, s);
    }

    /// <summary>stats = [J, J², I J].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Statistics(Ptrs p, long start, long len)
    {
        for (long v = start; v < start + len; v++)
        {
            float jv = p.J[v];
            p.Stats[v] = jv; p.Stats[p.Count + v] = jv * jv; p.Stats[2 * p.Count + v] = p.I[v] * jv;
        }
    }

    /// <summary>Σ cc over a row, and stats overwritten with dloss/dS(J), dloss/dS(J²), dloss/dS(IJ) (loss = −Σ cc / count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static double SumGradients(Ptrs p, long start, long len, double n, double eps, double invCount)
    {
        double total = 0;
        float invN = (float)(1 / n), fe = (float)eps, fc = (float)invCount;
        float* sj = p.Sums, sjj = p.Sums + p.Count, sij = p.Sums + 2 * p.Count;
        for (long v = start; v < start + len; v++)
        {
            float iSum = p.ISum[v], iVar = p.IVar[v];
            float jVar = sjj[v] - sj[v] * sj[v] * invN;
            float cross = sij[v] - iSum * sj[v] * invN;
            float invDen = 1 / (iVar * jVar + fe);
            float cc = cross * cross * invDen;
            total += cc;
            float gSij = -2 * fc * cross * invDen;
            float gSjj = fc * cc * iVar * invDen;
            p.Stats[v] = (-2 * gSjj * sj[v] - gSij * iSum) * invN;
            p.Stats[p.Count + v] = gSjj;
            p.Stats[2 * p.Count + v] = gSij;
        }
        return total;
    }

    /// <summary>Σ over a row of dloss/dJ ∇J [q; 1]ᵀ into rowGrad[r * 12 ..], dloss/dJ = G(J) + 2 J G(J²) + I G(IJ) from the filtered gradients G.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MapGradient(Ptrs p, long r, long[] shape, long[] offset, double[] rowGrad)
    {
        long len = shape[2], start = r * len;
        double qa = offset[0] + r / shape[1], qb = offset[1] + r % shape[1];
        float* g0 = p.Sums, g1 = p.Sums + p.Count, g2 = p.Sums + 2 * p.Count;
        float* d0 = p.GradJ, d1 = p.GradJ + p.Count, d2 = p.GradJ + 2 * p.Count;
        // per axis of ∇J: Σ d and Σ d·c along the row (c the last index); a and b are constant on a row
        double s0 = 0, s1 = 0, s2 = 0, c0 = 0, c1 = 0, c2 = 0;
        for (long k = 0; k < len; k++)
        {
            long v = start + k;
            float gj = g0[v] + 2 * p.J[v] * g1[v] + p.I[v] * g2[v];
            float e0 = gj * d0[v], e1 = gj * d1[v], e2 = gj * d2[v];
            double qc = offset[2] + k;
            s0 += e0; s1 += e1; s2 += e2;
            c0 += e0 * qc; c1 += e1 * qc; c2 += e2 * qc;
        }
        ReadOnlySpan<double> s = [s0, s1, s2], c = [c0, c1, c2];
        for (int i = 0; i < 3; i++)
        {
            rowGrad[r * 12 + i * 4 + 0] = s[i] * qa;
            rowGrad[r * 12 + i * 4 + 1] = s[i] * qb;
            rowGrad[r * 12 + i * 4 + 2] = c[i];
            rowGrad[r * 12 + i * 4 + 3] = s[i];
        }
    }

    public void Dispose()
    {
        foreach (var t in new[] { fixedBox, moving, iSum, iVar, j, gradJ, stats, sums, scratch }) t.Dispose();
    }
}
