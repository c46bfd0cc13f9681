using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Unsup.Registration.Geometry;
using Unsup.Registration.Losses;
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
/// difference of the centres of mass.
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

        var p = new Params(cm.Zip(cf, (m, f) => (m - f) / TranslationUnit).ToArray());
        double loss = double.NaN;
        if (!o.CentreOfMassOnly)
        {
            using var ncc = new LocalNcc(o.NccWindow);
            for (int l = 0; l < levels.Length; l++)
            {
                var (fx, mv) = levels[l];
                using var lvl = NewDisposeScope();
                var fixedPts = WorldResampler.WorldPoints(fx.Grid) - tensor(cf, dtype: ScalarType.Float32);
                var fixedImg = fx.Volume.reshape([1, 1, .. fx.Volume.shape]);
                var movingImg = mv.Volume.reshape([1, 1, .. mv.Volume.shape]);
                var inv = Matrix4.Inverse(mv.Grid.Affine);
                var (invLin, invT) = WorldResampler.ToTensors(inv);
                Func<Tensor> objective = () =>
                {
                    var (m, t) = p.Matrix(cf);
                    var vox = torch.matmul(fixedPts, torch.matmul(invLin, m).t()) + (torch.matmul(invLin, t) + invT);
                    var grid = WorldResampler.NormalizedGrid(vox, mv.Grid.Shape).unsqueeze(0);
                    var warped = nn.functional.grid_sample(movingImg, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: true);
                    return o.Metric == AffineMetric.LocalNcc ? ncc.forward(fixedImg, warped) : MutualInformation.Loss(fixedImg, warped);
                };
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
        readonly Parameter logScale = new(zeros(3, ScalarType.Float64));
        readonly Parameter shear = new(zeros(3, ScalarType.Float64));

        public Params(double[] translation) => trans = new Parameter(tensor(translation, dtype: ScalarType.Float64));

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
