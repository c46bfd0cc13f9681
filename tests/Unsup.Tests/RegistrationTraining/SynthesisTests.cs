using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Tests.RegistrationTraining;

/// <summary>The label-map image synthesiser and the cropping helpers.</summary>
public class SynthesisTests
{
    static Tensor Phantom()
    {
        // 3 nested boxes: white matter (2), cortex (3), ventricle (4), an unknown label (999) and background
        var l = zeros([24, 24, 24], ScalarType.Int64);
        l[TensorIndex.Slice(2, 22), TensorIndex.Slice(2, 22), TensorIndex.Slice(2, 22)] = tensor(3L);
        l[TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 19), TensorIndex.Slice(5, 19)] = tensor(2L);
        l[TensorIndex.Slice(9, 15), TensorIndex.Slice(9, 15), TensorIndex.Slice(9, 15)] = tensor(4L);
        l[0, 0, 0] = tensor(999L);
        return l;
    }

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
    public void VoxelIntensitiesFollowEachLabelsDrawnGaussian()
    {
        using var scope = NewDisposeScope();
        // fixed means, no jitter, no blur: each label's voxels are N(mean, std) before the final min-max
        var priors = new LabelIntensityPriors([2, 3, 4], [110, 70, 30], [0, 0, 0], [5, 3, 0], [0, 0, 0]);
        var synth = new LabelImageSynthesizer(priors) { BlurSigma = 0 };
        var labels = Phantom();
        var img = synth.Synthesize(labels, 1);
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
    }

    [SkippableFact]
    public void PriorsWhoseClassesDoNotIndexTheColumnsAreAClearError()
    {
        string dir = Path.Combine(TestData.SharedData, "synthseg");
        Skip.IfNot(File.Exists(Path.Combine(dir, "prior_means_t1.npy")), "shared synthseg priors not present");
        // the shared generation_classes.npy has 48 classes; the T1 priors have 25 columns
        var e = Assert.Throws<UnsupException>(() => LabelIntensityPriors.FromSynthSegFiles(
            Path.Combine(dir, "generation_labels.npy"), Path.Combine(dir, "generation_classes.npy"),
            Path.Combine(dir, "prior_means_t1.npy"), Path.Combine(dir, "prior_stds_t1.npy")));
        Assert.Contains("generation_classes.npy", e.Message);
        Assert.Contains("contrast_specific", e.Message);
    }

    [Fact]
    public void BoxesCropRecenterAndShiftTheAffine()
    {
        using var scope = NewDisposeScope();
        var mask = zeros([20, 20, 20], ScalarType.Bool);
        mask[TensorIndex.Slice(4, 8), TensorIndex.Slice(10, 12), TensorIndex.Slice(0, 3)] = tensor(true);
        var box = BoundingBox.Of(mask, margin: 1);
        Assert.Equal([3L, 9L, 0L], box.Start);
        Assert.Equal([6L, 4L, 4L], box.Size);
        var crop = box.Crop(mask);
        Assert.Equal(mask.sum().item<long>(), crop.sum().item<long>());   // nothing of the mask is lost
        var re = box.Recentered([10, 6, 8], [20, 20, 20]);
        Assert.Equal([1L, 8L, 0L], re.Start);                              // centred, clipped at the low end
        var affine = new double[,] { { 2, 0, 0, 10 }, { 0, 2, 0, 20 }, { 0, 0, 2, 30 }, { 0, 0, 0, 1 } };
        var moved = box.CropAffine(affine);
        Assert.Equal(10 + 2 * 3, moved[0, 3]);
        Assert.Equal(20 + 2 * 9, moved[1, 3]);
        Assert.Equal(30, moved[2, 3]);
    }
}
