using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Unsup.Registration.Geometry;
using Unsup.Registration.Losses;
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
/// with Adam through grid_sample. T(x) = R·Sh·S (x − c) + c + t, c the fixed image's centre of mass, t starting at the
/// difference of the centres of mass, S at the ratio of the heads' extents. Local NCC is evaluated on every voxel of the
/// fixed image's foreground box, mutual information on a fresh random sample of its voxels each iteration (as elastix does).
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
            // every iteration makes the same tensors of a few MB: keep them in the heap rather than fresh mappings
            using var reuse = NativeAllocator.ReuseBlocksUpTo(64 << 20);
            using var ncc = new LocalNcc(o.NccWindow);
            using var samples = new Generator((ulong)o.Seed);
            for (int l = 0; l < levels.Length; l++)
            {
                var (fx, mv) = levels[l];
                using var lvl = NewDisposeScope();
                var (fixedVol, fixedPts) = Foreground(fx.Volume, WorldResampler.WorldPoints(fx.Grid) - tensor(cf, dtype: ScalarType.Float32), o);
                var movingImg = mv.Volume.reshape([1, 1, .. mv.Volume.shape]);
                var (invLin, invT) = WorldResampler.ToTensors(Matrix4.Inverse(mv.Grid.Affine));
                // the moving image at fixed points [1, D, H, W, 3] (centred world mm) under the current parameters: [1, 1, D, H, W]
                Tensor Warp(Tensor pts)
                {
                    var (m, t) = p.Matrix(cf);
                    var vox = torch.matmul(pts, torch.matmul(invLin, m).t()) + (torch.matmul(invLin, t) + invT);
                    return nn.functional.grid_sample(movingImg, WorldResampler.NormalizedGrid(vox, mv.Grid.Shape),
                        GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: true);
                }
                Func<Tensor> objective;
                if (o.Metric == AffineMetric.LocalNcc)
                {
                    var against = ncc.Against(fixedVol.reshape([1, 1, .. fixedVol.shape]));
                    var pts = fixedPts.unsqueeze(0);
                    objective = () => against(Warp(pts));
                }
                else
                {
                    // as elastix: a fresh random set of fixed voxels every iteration, so the cost does not grow with the image
                    var values = fixedVol.reshape(-1);
                    var pts = fixedPts.reshape(1, 1, 1, -1, 3);
                    long n = values.shape[0], k = Math.Min(n, o.MutualInformationSamples);
                    objective = () =>
                    {
                        var idx = randint(n, [k], generator: samples);
                        return MutualInformation.Loss(values[idx], Warp(pts.index_select(3, idx)));
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
            using var step = NewDisposeScope();
            adam.zero_grad();
            var loss = objective();
            loss.backward();
            adam.step();
            last = loss.item<float>();
        }
        return last;
    }

    /// <summary>
    /// The fixed level cropped to the box around its foreground (values above <see cref="AffineOptions.ForegroundThreshold"/>,
    /// grown by the NCC window): the air around a head carries no signal, and on whole-head scans it is half the voxels.
    /// </summary>
    static (Tensor Volume, Tensor Points) Foreground(Tensor volume, Tensor points, AffineOptions o)
    {
        if (o.ForegroundThreshold <= 0) return (volume, points);
        using var mask = volume > o.ForegroundThreshold;
        if (!mask.any().item<bool>()) return (volume, points);
        var box = BoundingBox.Of(mask, o.NccWindow);
        var idx = box.Start.Select((s, i) => TensorIndex.Slice(s, s + box.Size[i])).ToArray();
        return (volume[idx].contiguous(), points[idx].contiguous());
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

        /// <summary>Linear part M [3,3] and translation [3] (float32) of T(x) = M (x − c) + c + t applied to x − c: returns (M, c + t).</summary>
        public (Tensor M, Tensor T) Matrix(double[] c)
        {
            var m = Linear();
            var t = tensor(c, dtype: ScalarType.Float64) + trans * TranslationUnit;
            return (m.to(ScalarType.Float32), t.to(ScalarType.Float32));
        }

        Tensor Linear()
        {
            var z = zeros(1, ScalarType.Float64)[0];
            var one = ones(1, ScalarType.Float64)[0];
            var c = rot.cos(); var s = rot.sin();
            var rx = stack([one, z, z, z, c[0], -s[0], z, s[0], c[0]]).reshape(3, 3);
            var ry = stack([c[1], z, s[1], z, one, z, -s[1], z, c[1]]).reshape(3, 3);
            var rz = stack([c[2], -s[2], z, s[2], c[2], z, z, z, one]).reshape(3, 3);
            var sh = stack([one, shear[0], shear[1], z, one, shear[2], z, z, one]).reshape(3, 3);
            return rz.matmul(ry).matmul(rx).matmul(sh).matmul(diag(logScale.exp()));
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
