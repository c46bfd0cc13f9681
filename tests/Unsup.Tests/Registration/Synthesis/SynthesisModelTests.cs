using Unsup.IO.Numpy;
using Unsup.Registration.Metrics;
using Unsup.Registration;
using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Synthesis;

/// <summary>SynthSeg's generative model step by step: the priors every class draws from, bias, gamma, flip and the SVF deformation.</summary>
public class SynthesisModelTests
{
    static string SynthSegDir => Path.Combine(TestData.SharedData, "synthseg");
    static bool HaveSynthSeg => File.Exists(Path.Combine(SynthSegDir, LabelIntensityPriors.ContrastClassesFile));

    /// <summary>E[max(0, X)] for X ~ N(mu, sigma): the priors' draws are clamped at 0.</summary>
    static double ClampedMean(double mu, double sigma)
    {
        if (sigma == 0) return Math.Max(0, mu);
        double z = mu / sigma, phi = Math.Exp(-z * z / 2) / Math.Sqrt(2 * Math.PI);
        return mu * NormalCdf(z) + sigma * phi;
    }

    static double NormalCdf(double z) => 0.5 * (1 + Erf(z / Math.Sqrt(2)));

    static double Erf(double x)
    {
        // Abramowitz-Stegun 7.1.26, |error| < 1.5e-7
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }

    [SkippableFact]
    public void EveryGenerationLabelDrawsFromItsPriorColumnOverManyImages()
    {
        Skip.IfNot(HaveSynthSeg, "shared synthseg priors not present");
        using var scope = NewDisposeScope();
        var p = LabelIntensityPriors.FromSynthSegFolder(SynthSegDir);
        int n = p.Labels.Length;
        // one 8x8 slab per generation label
        var labels = tensor(p.Labels).reshape(n, 1, 1).expand(n, 8, 8).contiguous();
        var synth = new LabelImageSynthesizer(p) { BiasFieldStd = 0, GammaStd = 0, BlurSigma = 0 };
        const int draws = 300;
        var means = new List<Tensor>();
        var stds = new List<Tensor>();
        for (int d = 0; d < draws; d++)
        {
            using var gen = new Generator((ulong)d);
            var img = synth.DrawIntensities(labels, gen).reshape(n, -1);
            means.Add(img.mean([1]));
            stds.Add(img.std(1));
        }
        var m = stack(means).to(ScalarType.Float64);   // [draws, n]
        var s = stack(stds).to(ScalarType.Float64);
        var meanOfMeans = m.mean([0]).data<double>().ToArray();
        var spreadOfMeans = m.std(0).data<double>().ToArray();
        var meanOfStds = s.mean([0]).data<double>().ToArray();
        for (int i = 0; i < n; i++)
        {
            int c = p.ClassOf[i];
            double expMean = ClampedMean(p.MeanMu[c], p.MeanSigma[c]);
            double expStd = ClampedMean(p.StdMu[c], p.StdSigma[c]);
            double seMean = Math.Sqrt((p.MeanSigma[c] * p.MeanSigma[c] + expStd * expStd / 64) / draws);
            Assert.True(Math.Abs(meanOfMeans[i] - expMean) < 4 * seMean + 0.2,
                $"label {p.Labels[i]} (column {c}): mean {meanOfMeans[i]:F2}, prior {expMean:F2}");
            Assert.True(Math.Abs(meanOfStds[i] - expStd) < 4 * p.StdSigma[c] / Math.Sqrt(draws) + 0.03 * expStd + 0.2,
                $"label {p.Labels[i]} (column {c}): within-structure std {meanOfStds[i]:F2}, prior {expStd:F2}");
            double expSpread = Math.Sqrt(p.MeanSigma[c] * p.MeanSigma[c] + expStd * expStd / 64);
            Assert.True(Math.Abs(spreadOfMeans[i] / expSpread - 1) < 0.2,
                $"label {p.Labels[i]} (column {c}): spread of the drawn mean {spreadOfMeans[i]:F2}, prior {expSpread:F2}");
        }
        // with bias, gamma and blur off the whole pipeline is the drawn image clipped and min-max normalised
        using var g = new Generator(5);
        var raw = synth.DrawIntensities(labels, g).clamp(0, 300);
        var expected = (raw - raw.min()) / (raw.max() - raw.min());
        Assert.True((synth.Synthesize(labels, 5) - expected).abs().max().item<float>() < 1e-5f);
    }

    [SkippableFact]
    public void SynthSegsPairingFileIsUsedByDefault()
    {
        Skip.IfNot(HaveSynthSeg, "shared synthseg priors not present");
        var p = LabelIntensityPriors.FromSynthSegFolder(SynthSegDir);
        using var scope = NewDisposeScope();
        var fileLabels = NpyReader.Read(Path.Combine(SynthSegDir, LabelIntensityPriors.LabelsFile)).to(ScalarType.Int64).data<long>().ToArray();
        var fileClasses = NpyReader.Read(Path.Combine(SynthSegDir, LabelIntensityPriors.ContrastClassesFile)).to(ScalarType.Int64).data<long>().ToArray();
        for (int i = 0; i < fileLabels.Length; i++) Assert.Equal(fileClasses[i], p.ClassOf[Array.IndexOf(p.Labels, fileLabels[i])]);
        int Col(long label) => p.ClassOf[Array.IndexOf(p.Labels, label)];
        // hippocampus (17/53) draws from column 3, the cortex-like prior (mean 96, std 19), not the extra-cerebral column 19
        Assert.Equal(3, Col(17));
        Assert.Equal(3, Col(53));
        Assert.Equal(96.3, p.MeanMu[Col(17)], 1);
        Assert.Equal(18.9, p.StdMu[Col(17)], 1);
        // Unsup's reconstruction only on request, and it is the old table
        var old = LabelIntensityPriors.FromSynthSegFolder(SynthSegDir, LabelIntensityPriors.ReconstructedPairing);
        Assert.Equal(19, old.ClassOf[Array.IndexOf(old.Labels, 17L)]);
        // a folder without the pairing file is an error naming it
        using var tmp = TestData.Temp();
        foreach (var f in new[] { LabelIntensityPriors.LabelsFile, LabelIntensityPriors.MeansFile, LabelIntensityPriors.StdsFile })
            File.Copy(Path.Combine(SynthSegDir, f), Path.Combine(tmp.Path, f));
        var e = Assert.Throws<UnsupException>(() => LabelIntensityPriors.FromSynthSegFolder(tmp.Path));
        Assert.Contains(LabelIntensityPriors.ContrastClassesFile, e.Message);
        Assert.Contains("--classes unsup", e.Message);
    }

    [Fact]
    public void GammaRaisesTheNormalisedImageToOneLogNormalPower()
    {
        using var scope = NewDisposeScope();
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped());
        var ramp = linspace(0, 400, 101);                  // clipped at 300, then min-max: x / 300
        var x = (ramp.clamp(0, 300) / 300)[TensorIndex.Slice(1, 75)];
        var logs = new List<double>();
        for (int seed = 0; seed < 200; seed++)
        {
            using var gen = new Generator((ulong)seed);
            var y = synth.AugmentIntensity(ramp, gen)[TensorIndex.Slice(1, 75)];
            var power = y.log() / x.log();                   // the same exponent at every voxel
            Assert.True((power - power.mean()).abs().max().item<float>() < 1e-3f);
            logs.Add(Math.Log(power.mean().item<float>()));
        }
        double mean = logs.Average(), std = Math.Sqrt(logs.Sum(v => (v - mean) * (v - mean)) / (logs.Count - 1));
        Assert.Equal(0, mean, 0.1);
        Assert.Equal(0.5, std, 0.07);
        using var g0 = new Generator(1);
        var off = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()) { GammaStd = 0 }.AugmentIntensity(ramp, g0);
        Assert.True((off - ramp.clamp(0, 300) / 300).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void TheBiasFieldIsTheExponentialOfAnUpsampledCoarseGridAppliedWithItsProbability()
    {
        using var scope = NewDisposeScope();
        // 20 voxels x 0.1: a 2x2x2 grid, so the log field is linear along every axis
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()) { BiasFieldScale = 0.1 };
        var flat = ones(20, 20, 20);
        var corners = new List<double>();
        int untouched = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            using var gen = new Generator((ulong)seed);
            var b = synth.CorruptBias(flat, gen).log();
            if (b.abs().max().item<float>() == 0) { untouched++; continue; }
            for (int axis = 0; axis < 3; axis++)
            {
                var d = b.diff(dim: axis);
                Assert.True((d.diff(dim: axis)).abs().max().item<float>() < 1e-4f, "log bias not linear between its 2 control points");
            }
            corners.Add(b[0, 0, 0].item<float>());
        }
        // prob 0.95: about 10 of 200 images keep no field
        Assert.InRange(untouched, 2, 25);
        // control values N(0, U(0, 0.7)): std 0.7 / sqrt(3)
        double mean = corners.Average(), std = Math.Sqrt(corners.Sum(v => (v - mean) * (v - mean)) / (corners.Count - 1));
        Assert.Equal(0.7 / Math.Sqrt(3), std, 0.07);
        using var g0 = new Generator(3);
        Assert.True((new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()) { BiasFieldStd = 0 }.CorruptBias(flat, g0) == flat).all().item<bool>());
    }

    [Fact]
    public void AFlipMirrorsTheMapAndSwapsLeftAndRightLabels()
    {
        using var scope = NewDisposeScope();
        var labels = zeros([12, 6, 4], ScalarType.Int64);
        labels[TensorIndex.Slice(0, 4)] = tensor(2L);        // left white matter on the low side of axis 0
        labels[TensorIndex.Slice(8, 12)] = tensor(41L);
        labels[1, 1, 1] = tensor(17L);                       // left hippocampus
        labels[5, 2, 2] = tensor(16L);                       // brainstem: no side
        var flip = RandomDeformation.None with { FlipProbability = 1 };
        using var gen = new Generator(1);
        var f = flip.Apply(labels, gen);
        // the old right half, mirrored onto the low (left) side, is now named left: the low side stays "left"
        Assert.Equal(2L, f[0, 0, 0].item<long>());
        Assert.Equal(41L, f[11, 0, 0].item<long>());
        Assert.False((f == labels.flip(0)).all().item<bool>());
        Assert.Equal(53L, f[10, 1, 1].item<long>());         // the hippocampus moved across and became right
        Assert.Equal(16L, f[6, 2, 2].item<long>());
        Assert.Equal(labels.flip(0).count_nonzero().item<long>(), f.count_nonzero().item<long>());
        var onAxis1 = (RandomDeformation.None with { FlipProbability = 1, FlipAxis = 1 }).Apply(labels, gen);
        Assert.Equal(53L, onAxis1[1, 4, 1].item<long>());
        int flips = 0;
        var half = RandomDeformation.None with { FlipProbability = 0.5 };
        for (int seed = 0; seed < 100; seed++)
        {
            using var g = new Generator((ulong)seed);
            if (half.Apply(labels, g)[10, 1, 1].item<long>() == 53) flips++;
        }
        Assert.InRange(flips, 35, 65);
        // SynthSeg's maps and the CLI tests' maps both run left-right along array axis 0
        Assert.Equal(0, LeftRightLabels.Axis(new double[,] { { -1, 0, 0, 128 }, { 0, 0, 1, -128 }, { 0, -1, 0, 128 }, { 0, 0, 0, 1 } }, 3));
        Assert.Equal(2, LeftRightLabels.Axis(new double[,] { { 0, 0, 2, 0 }, { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 0, 1 } }, 3));
    }

    [Fact]
    public void TheIntegratedVelocityFieldNeverFoldsEvenWhenLarge()
    {
        using var scope = NewDisposeScope();
        // a strong velocity: std up to 12 voxels on a 4^3 grid
        var strong = RandomDeformation.ElasticOnly(12) with { VelocityScale = 0.12 };
        var shape = new long[] { 32, 32, 32 };
        for (int seed = 0; seed < 4; seed++)
        {
            using var gen = new Generator((ulong)(seed + 1));
            var u = strong.Displacement(shape, gen);
            Assert.True(u.abs().max().item<float>() > 1, "no deformation drawn");
            var det = JacobianDeterminant.Compute(u);
            Assert.True(det.min().item<float>() > 0, $"seed {seed}: folding, min det J {det.min().item<float>()}");
        }
        // SynthSeg's defaults (affine + SVF): no folding, and only the map's own labels come out
        var labels = SynthesisTests.Phantom();
        var d = new RandomDeformation() with { FlipProbability = 0 };
        using var g2 = new Generator(7);
        var full = d.Displacement(labels.shape, g2);
        Assert.True(JacobianDeterminant.Compute(full).min().item<float>() > 0);
        using var g3 = new Generator(7);
        var moved = d.Apply(labels, g3);
        var before = labels.unique().Item1.data<long>().ToHashSet();
        Assert.Subset(before, moved.unique().Item1.data<long>().ToHashSet());
    }
}
