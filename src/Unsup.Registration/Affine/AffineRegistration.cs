using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Unsup.Registration.Geometry;
using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Registration.Affine;

/// <summary>
/// The result of <see cref="AffineRegistration"/>: <paramref name="FixedToMoving"/> maps fixed world points (RAS mm) to
/// moving world points (the transform a resampler uses to pull the moving image onto the fixed grid);
/// <paramref name="Centre"/> is the fixed-space centre the parameters rotate and scale about.
/// </summary>
public sealed record AffineResult(double[,] FixedToMoving, double[] Centre, double Seconds, double FinalLoss);

/// <summary>
/// 12-parameter affine registration in world space: centre-of-mass start, rigid then affine, coarse to fine, optimised
/// with Adam. T(x) = R·Sh·S (x − c) + c + t, c the fixed image's centre of mass, t starting at the difference of the
/// centres of mass, S at the ratio of the heads' extents. Local NCC is evaluated on every voxel of the fixed image's
/// foreground box with its gradient by hand (<see cref="AffineLocalNcc"/>; autograd only carries it from the voxel map
/// to the parameters), mutual information through grid_sample and autograd on a fresh random sample of the box's voxels
/// each iteration (as elastix does).
/// </summary>
public static class AffineRegistration
{
    const double TranslationUnit = 10; // mm per parameter unit, so one Adam step moves a fraction of a mm

    public static AffineResult Register(Tensor fixedVolume, VolumeGeometry fixedGrid, Tensor movingVolume, VolumeGeometry movingGrid, AffineOptions? options = null)
    {
        var o = options ?? new AffineOptions();
        if (o.AffineIterations.Length != o.LevelsMm.Length)
            throw new UnsupException($"affine: {o.LevelsMm.Length} levels but {o.AffineIterations.Length} iteration counts");
        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var levels = o.LevelsMm.Select(mm => (Fixed: Level(fixedVolume, fixedGrid, mm), Moving: Level(movingVolume, movingGrid, mm))).ToArray();
        var cf = WorldResampler.CentreOfMass(levels[^1].Fixed.Volume, levels[^1].Fixed.Grid);
        var cm = WorldResampler.CentreOfMass(levels[^1].Moving.Volume, levels[^1].Moving.Grid);

        var logScale = o.ScaleFromExtents && !o.CentreOfMassOnly
            ? ExtentLogScales(levels[0].Fixed, levels[0].Moving, o.ForegroundThreshold)
            : new double[3];
        var p = new Params(cm.Zip(cf, (m, f) => (m - f) / TranslationUnit).ToArray(), logScale);
        double loss = double.NaN;
        if (!o.CentreOfMassOnly)
        {
            using var samples = new Generator((ulong)o.Seed);
            for (int l = 0; l < levels.Length; l++)
            {
                var (fx, mv) = levels[l];
                using var lvl = NewDisposeScope();
                var (fixedVol, boxStart) = Foreground(fx.Volume, o);
                var (invLin, invT) = WorldResampler.ToTensors(Matrix4.Inverse(mv.Grid.Affine), ScalarType.Float64);
                Func<Tensor> objective;
                using var ncc = o.Metric == AffineMetric.LocalNcc ? new AffineLocalNcc(fixedVol, boxStart, mv.Volume, o.NccWindow) : null;
                if (ncc is not null)
                {
                    // the fixed grid's voxel indices q to centred world mm: F_lin q + (F_t − c)
                    var (fLin, fT) = WorldResampler.ToTensors(fx.Grid.Affine, ScalarType.Float64);
                    var fShift = fT - tensor(cf, dtype: ScalarType.Float64);
                    objective = () =>
                    {
                        // fixed voxels to moving voxels, [3, 4], a function of the parameters: the loss's gradient
                        // with respect to it (by hand) flows to them through autograd on these few small tensors
                        var (m, t) = p.Matrix(cf);
                        var lin = invLin.matmul(m);
                        var map = cat([lin.matmul(fLin), (lin.matmul(fShift) + invLin.matmul(t) + invT).unsqueeze(1)], 1);
                        var (value, grad) = ncc.Evaluate(map.detach().data<double>().ToArray());
                        var s = (map * tensor(grad, dtype: ScalarType.Float64).reshape(3, 4)).sum();
                        return s - s.detach() + value;
                    };
                }
                else
                {
                    // as elastix: a fresh random set of fixed voxels every iteration, so the cost does not grow with the image
                    var movingImg = mv.Volume.reshape([1, 1, .. mv.Volume.shape]);
                    var lin32 = invLin.to(ScalarType.Float32); var invT32 = invT.to(ScalarType.Float32);
                    var values = fixedVol.reshape(-1);
                    var box = boxStart.Select((s, i) => TensorIndex.Slice(s, s + fixedVol.shape[i])).ToArray();
                    var pts = (WorldResampler.WorldPoints(fx.Grid)[box] - tensor(cf, dtype: ScalarType.Float32)).reshape(1, 1, 1, -1, 3);
                    long n = values.shape[0], k = Math.Min(n, o.MutualInformationSamples);
                    objective = () =>
                    {
                        var idx = randint(n, [k], generator: samples);
                        var (m, t) = p.Matrix(cf);
                        var m32 = m.to(ScalarType.Float32); var t32 = t.to(ScalarType.Float32);
                        var vox = torch.matmul(pts.index_select(3, idx), torch.matmul(lin32, m32).t()) + (torch.matmul(lin32, t32) + invT32);
                        var warped = nn.functional.grid_sample(movingImg, WorldResampler.NormalizedGrid(vox, mv.Grid.Shape),
                            GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: true);
                        return MutualInformation.Loss(values[idx], warped);
                    };
                }
                if (l == 0 && o.RigidIterations > 0) loss = Optimise(objective, p.Rigid, o.RigidIterations, o.LearningRate);
                loss = Optimise(objective, p.All, o.AffineIterations[l], o.LearningRate / (1 << l));
            }
        }
        var result = p.ToMatrix4(cf);
        p.Dispose();
        return new AffineResult(result, cf, sw.Elapsed.TotalSeconds, loss);
    }

    static double Optimise(Func<Tensor> objective, Parameter[] parameters, int iterations, double lr)
    {
        if (iterations <= 0) return double.NaN;
        using var adam = optim.Adam(parameters, lr);
        double last = double.NaN;
        for (int i = 0; i < iterations; i++)
        {
            using var pause = GcPause.Begin();
            using var step = NewDisposeScope();
            adam.zero_grad();
            var loss = objective();
            loss.backward();
            adam.step();
            last = loss.to(ScalarType.Float64).item<double>();
        }
        return last;
    }

    /// <summary>
    /// The fixed level cropped to the box around its foreground (values above <see cref="AffineOptions.ForegroundThreshold"/>,
    /// grown by the NCC window), with the box's first voxel: the air around a head carries no signal, and on whole-head
    /// scans it is half the voxels.
    /// </summary>
    static (Tensor Volume, long[] Start) Foreground(Tensor volume, AffineOptions o)
    {
        if (o.ForegroundThreshold <= 0) return (volume, new long[3]);
        using var mask = volume > o.ForegroundThreshold;
        if (!mask.any().item<bool>()) return (volume, new long[3]);
        var box = BoundingBox.Of(mask, o.NccWindow);
        var idx = box.Start.Select((s, i) => TensorIndex.Slice(s, s + box.Size[i])).ToArray();
        return (volume[idx].contiguous(), box.Start);
    }

    /// <summary>
    /// Per world axis, log(moving extent / fixed extent), each extent the standard deviation of the foreground's
    /// positions along the axis, clamped to ±log 1.6: the starting scales. Two heads can differ in size by a third
    /// along an axis, more than Adam's small steps cover at the coarse level, and a local-NCC optimum found from unit
    /// scale can then be a shrunken, degenerate map.
    /// </summary>
    public static double[] ExtentLogScales((Tensor Volume, VolumeGeometry Grid) fx, (Tensor Volume, VolumeGeometry Grid) mv, double threshold)
    {
        using var scope = NewDisposeScope();
        double[]? Extent((Tensor Volume, VolumeGeometry Grid) l)
        {
            var w = (l.Volume > threshold).to(ScalarType.Float64).unsqueeze(-1);
            double n = w.sum().item<double>();
            if (n < 8) return null;
            var pts = WorldResampler.WorldPoints(l.Grid).to(ScalarType.Float64);
            var mean = (pts * w).sum([0, 1, 2]) / n;
            return ((pts - mean).square() * w).sum([0, 1, 2]).div(n).sqrt().data<double>().ToArray();
        }
        var f = Extent(fx); var m = Extent(mv);
        if (f is null || m is null) return new double[3];
        return [.. f.Zip(m, (a, b) => a > 0 && b > 0 ? Math.Clamp(Math.Log(b / a), -Math.Log(1.6), Math.Log(1.6)) : 0)];
    }

    /// <summary>A volume block-averaged to about <paramref name="mm"/> spacing and scaled to [0, 1], with its grid.</summary>
    static (Tensor Volume, VolumeGeometry Grid) Level(Tensor volume, VolumeGeometry grid, double mm)
    {
        var spacing = grid.Spacing;
        var f = spacing.Select(s => Math.Max(1L, (long)Math.Round(mm / s))).ToArray();
        var v = volume.to(ScalarType.Float32).reshape([1, 1, .. volume.shape]);
        if (f.Any(k => k > 1)) v = nn.functional.avg_pool3d(v, f, f);
        v = Model.IntensityNormalization.MinMax(v)[0, 0];
        return (v, grid.Pooled(f));
    }

    /// <summary>The 12 parameters: Euler angles (rad), translation (tens of mm), log scales and shears.</summary>
    sealed class Params : IDisposable
    {
        readonly Parameter rot = new(zeros(3, ScalarType.Float64));
        readonly Parameter trans;
        readonly Parameter logScale;
        readonly Parameter shear = new(zeros(3, ScalarType.Float64));

        public Params(double[] translation, double[] logScales)
        {
            trans = new Parameter(tensor(translation, dtype: ScalarType.Float64));
            logScale = new Parameter(tensor(logScales, dtype: ScalarType.Float64));
        }

        public Parameter[] Rigid => [rot, trans];
        public Parameter[] All => [rot, trans, logScale, shear];

        /// <summary>Linear part M [3,3] and translation [3] (float64) of T(x) = M (x − c) + c + t applied to x − c: returns (M, c + t).</summary>
        public (Tensor M, Tensor T) Matrix(double[] c) => (Linear(), tensor(c, dtype: ScalarType.Float64) + trans * TranslationUnit);

        // entries of Rx, Ry, Rz and the shear matrix as positions in [cos rot, sin rot, −sin rot, shear, 0, 1]
        const int C = 0, S = 3, N = 6, Sh = 9, Z = 12, O = 13;
        static readonly long[] Entries =
        [
            O, Z, Z, Z, C + 0, N + 0, Z, S + 0, C + 0,          // Rx
            C + 1, Z, S + 1, Z, O, Z, N + 1, Z, C + 1,          // Ry
            C + 2, N + 2, Z, S + 2, C + 2, Z, Z, Z, O,          // Rz
            O, Sh + 0, Sh + 1, Z, O, Sh + 2, Z, Z, O,           // shear
        ];

        /// <summary>Rz Ry Rx Sh diag(exp logScale), gathered from one vector: a few ops, since the optimiser runs it (and its backward) every iteration.</summary>
        Tensor Linear()
        {
            var sin = rot.sin();
            var v = cat([rot.cos(), sin, -sin, shear, zeros(1, ScalarType.Float64), ones(1, ScalarType.Float64)]);
            using var idx = tensor(Entries);
            var m = v.index_select(0, idx).reshape(4, 3, 3);
            return m[2].matmul(m[1]).matmul(m[0]).matmul(m[3]) * logScale.exp();
        }

        public double[,] ToMatrix4(double[] c)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var m = Linear().data<double>().ToArray();
            var t = trans.data<double>().ToArray();
            var r = Matrix4.Identity();
            for (int i = 0; i < 3; i++)
            {
                double mc = 0;
                for (int j = 0; j < 3; j++) { r[i, j] = m[i * 3 + j]; mc += m[i * 3 + j] * c[j]; }
                r[i, 3] = c[i] - mc + t[i] * TranslationUnit;
            }
            return r;
        }

        public void Dispose() { rot.Dispose(); trans.Dispose(); logScale.Dispose(); shear.Dispose(); }
    }
}
