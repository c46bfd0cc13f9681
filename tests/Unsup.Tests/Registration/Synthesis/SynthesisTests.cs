using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Synthesis;

/// <summary>The label-map image synthesiser (SynthSeg's generative model) and its priors.</summary>
public class SynthesisTests
{
    internal static Tensor Phantom()
    {
        // nested boxes: cortex (3), white matter (2), ventricle (4), right white matter (41), an unknown label (999), background
        var l = zeros([24, 24, 24], ScalarType.Int64);
        l[TensorIndex.Slice(2, 22), TensorIndex.Slice(2, 22), TensorIndex.Slice(2, 22)] = tensor(3L);
        l[TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 12)] = tensor(2L);
        l[TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 19), TensorIndex.Slice(12, 19)] = tensor(41L);
        l[TensorIndex.Slice(9, 15), TensorIndex.Slice(9, 15), TensorIndex.Slice(9, 15)] = tensor(4L);
        l[0, 0, 0] = tensor(999L);
        return l;
    }

    static LabelImageSynthesizer Plain(LabelIntensityPriors p) => new(p) { BlurSigma = 0, BiasFieldStd = 0, NoiseStd = 0, GammaStd = 0 };

    [Fact]
    public void SameSeedSameImageOtherSeedOtherImageAndTheGridIsKept()
    {
        using var scope = NewDisposeScope();
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped());
        var labels = Phantom();
        var a = synth.Synthesize(labels, 7);
        var b = synth.Synthesize(labels, 7);
        var c = synth.Synthesize(labels, 8);
        Assert.Equal(labels.shape, a.shape);
        Assert.True((a == b).all().item<bool>());
        Assert.False((a == c).all().item<bool>());
        Assert.Equal(0.0, a.min().item<float>(), 5);
        Assert.Equal(1.0, a.max().item<float>(), 5);
    }

    [Fact]
    public void VoxelIntensitiesFollowEachClassDrawnGaussian()
    {
        using var scope = NewDisposeScope();
        // fixed means, no jitter, no blur, bias or noise: each label's voxels are N(mean, std) before the final min-max
        var priors = LabelIntensityPriors.PerLabel([2, 3, 4, 41], [110, 70, 30, 90], [0, 0, 0, 0], [5, 3, 0, 2], [0, 0, 0, 0]);
        var labels = Phantom();
        var img = Plain(priors).Synthesize(labels, 1);
        // undo min-max using the constant-intensity labels: background 0 and ventricles exactly 30
        float scale = img[labels == 4].mean().item<float>() / 30f;
        Assert.Equal(0f, img[labels == 0].abs().max().item<float>());
        Assert.Equal(0f, img[labels == 999].item<float>());   // unknown labels are background
        var wm = img[labels == 2] / scale;
        var gm = img[labels == 3] / scale;
        Assert.Equal(110, wm.mean().item<float>(), 0.5);
        Assert.Equal(5, wm.std().item<float>(), 0.3);
        Assert.Equal(70, gm.mean().item<float>(), 0.5);
        Assert.Equal(3, gm.std().item<float>(), 0.3);
        Assert.Equal(90, (img[labels == 41] / scale).mean().item<float>(), 0.5);
    }

    [Fact]
    public void LabelsOfOneClassShareTheirDrawnIntensityOthersDoNot()
    {
        using var scope = NewDisposeScope();
        // left (2) and right (41) white matter in one class, cortex (3) in another; wide prior jitter, no texture
        var priors = new LabelIntensityPriors([2, 41, 3, 4], [0, 0, 1, 2], [100, 60, 30], [30, 30, 5], [0, 0, 0], [0, 0, 0]);
        var labels = Phantom();
        for (int seed = 0; seed < 5; seed++)
        {
            var img = Plain(priors).Synthesize(labels, seed);
            float left = img[labels == 2].mean().item<float>(), right = img[labels == 41].mean().item<float>();
            Assert.Equal(left, right, 5);
            Assert.Equal(0f, img[labels == 2].std().item<float>(), 5);
            Assert.NotEqual(left, img[labels == 3].mean().item<float>(), 3);
        }
    }

    [Fact]
    public void BiasFieldAndNoiseVaryWithinAStructureYetStayReproducible()
    {
        using var scope = NewDisposeScope();
        var priors = LabelIntensityPriors.PerLabel([2, 3], [110, 70], [0, 0], [0, 0], [0, 0]);
        var labels = Phantom();
        var flat = Plain(priors).Synthesize(labels, 3);
        Assert.Equal(0f, flat[labels == 2].std().item<float>(), 5);
        var biased = new LabelImageSynthesizer(priors) { BlurSigma = 0, BiasFieldStd = 0.5, BiasFieldScale = 0.2, BiasFieldProbability = 1, NoiseStd = 0, GammaStd = 0 };
        // a bias field is smooth: neighbouring voxels differ far less than the field varies across the structure
        // (a white-matter block clear of the ventricle)
        var b = biased.Synthesize(labels, 3);
        var wm = b[TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 9)];
        float spread = (wm.max() - wm.min()).item<float>();
        float step = (wm[TensorIndex.Slice(1, null)] - wm[TensorIndex.Slice(null, -1)]).abs().max().item<float>();
        Assert.True(spread > 0.01f, $"no bias field visible (spread {spread})");
        Assert.True(step < spread / 3, $"bias field not smooth: step {step}, spread {spread}");
        Assert.True((b == biased.Synthesize(labels, 3)).all().item<bool>());
        var noisy = new LabelImageSynthesizer(priors) { BlurSigma = 0, BiasFieldStd = 0, NoiseStd = 10, GammaStd = 0 };
        Assert.True(noisy.Synthesize(labels, 4)[labels == 0].std().item<float>() > 0);   // noise reaches the background too, as in a scan
        var stripped = new LabelImageSynthesizer(priors) { BlurSigma = 1, BiasFieldStd = 0, NoiseStd = 10, ZeroBackground = true }.Synthesize(labels, 4);
        Assert.Equal(0f, stripped[labels == 0].abs().max().item<float>());                // ... unless skull stripping removed it
        Assert.True(stripped[labels == 2].std().item<float>() > 0);
    }

    [SkippableFact]
    public void SynthSegFolderPriorsPairEveryGenerationLabelWithAT1Column()
    {
        string dir = Path.Combine(TestData.SharedData, "synthseg");
        Prerequisite.Require(File.Exists(Path.Combine(dir, "prior_means_t1.npy")), "shared synthseg priors not present");
        var p = LabelIntensityPriors.FromSynthSegFolder(dir);
        Assert.Equal(54, p.Labels.Length);
        Assert.Equal(25, p.ClassCount);
        int Col(long label) => p.ClassOf[Array.IndexOf(p.Labels, label)];
        Assert.Equal(Col(2), Col(41));                 // left and right white matter share a class
        Assert.Equal(Col(4), Col(43));
        // T1 ordering of the drawn-mean priors: white matter > cortex > ventricles > background
        Assert.True(p.MeanMu[Col(2)] > p.MeanMu[Col(3)]);
        Assert.True(p.MeanMu[Col(3)] > p.MeanMu[Col(4)]);
        Assert.True(p.MeanMu[Col(4)] > p.MeanMu[Col(0)]);
    }

    [SkippableFact]
    public void PriorsWhoseClassesDoNotIndexTheColumnsAreAClearError()
    {
        string dir = Path.Combine(TestData.SharedData, "synthseg");
        Prerequisite.Require(File.Exists(Path.Combine(dir, "prior_means_t1.npy")), "shared synthseg priors not present");
        // the shared generation_classes.npy has 48 classes; the T1 priors have 25 columns
        var e = Assert.Throws<UnsupException>(() => LabelIntensityPriors.FromSynthSegFolder(dir, Path.Combine(dir, "generation_classes.npy")));
        Assert.Contains("generation_classes.npy", e.Message);
        Assert.Contains("contrast_specific", e.Message);
        using var tmp = TestData.Temp();
        var missing = Assert.Throws<UnsupException>(() => LabelIntensityPriors.FromSynthSegFolder(tmp.Path));
        Assert.Contains("generation_labels.npy", missing.Message);
    }
}
