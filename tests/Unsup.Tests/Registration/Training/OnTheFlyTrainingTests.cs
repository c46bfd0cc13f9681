using Unsup.Registration.Synthesis;
using Unsup.Registration.Training;
using static TorchSharp.torch;

using Unsup.Tests.Registration.Synthesis;

namespace Unsup.Tests.Registration.Training;

/// <summary>Training data made from label maps: fresh, seeded images per step; fixed ones for validation.</summary>
public class OnTheFlyTrainingTests
{
    static PreparedLabelMaps Maps()
    {
        var labels = stack(Enumerable.Range(0, 4).Select(i => SynthesisTests.Phantom().roll(i, 0)).ToList());
        var affine = new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } };
        return new PreparedLabelMaps(["a", "b", "c", "d"], labels, Enumerable.Repeat(affine, 4).ToList(), [null, null, null, null]);
    }

    [Fact]
    public void EachStepSeedGivesItsOwnImageAndTheSameSeedTheSameImage()
    {
        using var scope = NewDisposeScope();
        using var maps = Maps();
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped());
        using var data = SymNetTrainingData.FromLabelMaps(maps, synth, validationCount: 2, seed: 10);
        var a = data.TrainingImage(0, 100);
        Assert.Equal([1L, 1, 32, 32, 32], a.shape);                  // padded to a multiple of 16
        Assert.True((a == data.TrainingImage(0, 100)).all().item<bool>());
        Assert.False((a == data.TrainingImage(0, 101)).all().item<bool>());
        Assert.False((a == data.Images.narrow(0, 0, 1)).all().item<bool>());   // not the stored validation image
        // the stored images are the fixed syntheses (seed + subject), used for validation
        var fixedImage = synth.Synthesize(maps.Labels[1], 11);
        Assert.True((data.Images[1, 0, TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24)] - fixedImage).abs().max().item<float>() < 1e-6f);
        using var withDeform = SymNetTrainingData.FromLabelMaps(maps, synth, 2, 10, deformation: new RandomDeformation());
        Assert.False((withDeform.TrainingImage(0, 100) == a).all().item<bool>());
        using var stored = SymNetTrainingData.FromLabelMaps(maps, synth, 2, 10, onTheFly: false);
        Assert.True((stored.TrainingImage(0, 100) == stored.Images.narrow(0, 0, 1)).all().item<bool>());
    }

    /// <summary>Mean intensity of each label of the phantom (cortex 3, white matter 2 and 41, ventricle 4).</summary>
    static double[] LabelMeans(Tensor image, Tensor labels) =>
        new long[] { 3, 2, 41, 4 }.Select(l => image[labels == l].mean().item<float>()).Select(v => (double)v).ToArray();

    [Fact]
    public void OneContrastSeedGivesTwoDrawsTheSameLabelParametersAndOtherVoxels()
    {
        using var scope = NewDisposeScope();
        var labels = SynthesisTests.Phantom();
        // class means drawn with a spread of 40 (SynthSeg's priors vary as much; the built-in T1 table by only 4)
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped(meanJitter: 40));
        Tensor Draw(ulong seed, ulong? contrast)
        {
            using var g = new Generator(seed);
            using var c = contrast is ulong cs ? new Generator(cs) : null;
            return synth.DrawIntensities(labels, g, c);
        }
        var a = Draw(1, 7);
        var b = Draw(2, 7);
        Assert.False((a == b).all().item<bool>());   // other voxel draws
        // per label: the same mean up to the voxel noise (>= 216 voxels per label), unlike an independent contrast
        var ma = LabelMeans(a, labels); var mb = LabelMeans(b, labels); var mi = LabelMeans(Draw(2, 8), labels);
        Assert.All(ma.Zip(mb), p => Assert.True(Math.Abs(p.First - p.Second) < 3, $"{p.First} vs {p.Second}"));
        Assert.Contains(ma.Zip(mi), p => Math.Abs(p.First - p.Second) > 10);
        // without a contrast generator the parameters come from the voxel generator, as before
        Assert.True((Draw(1, null) == Draw(1, null)).all().item<bool>());
        Assert.False((Draw(1, null) == a).all().item<bool>());
    }

    [Fact]
    public void TrainingPairsAndHeldOutSubjectsShareOneContrastWhenAsked()
    {
        using var scope = NewDisposeScope();
        using var maps = Maps();
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped(meanJitter: 40)) { BiasFieldStd = 0, GammaStd = 0, BlurSigma = 0 };
        using var shared = SymNetTrainingData.FromLabelMaps(maps, synth, validationCount: 2, seed: 10, sharedContrast: true);
        var crop = new[] { TensorIndex.Ellipsis, TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24) };
        Tensor Image(Tensor padded) => padded[crop].squeeze();
        // min-max normalised images: compare the order and spacing of the label means, not their units
        static double[] Scaled(double[] m) => m.Select(v => (v - m.Min()) / (m.Max() - m.Min())).ToArray();
        double Gap(Tensor x, int i, Tensor y, int j) =>
            Scaled(LabelMeans(x, maps.Labels[i])).Zip(Scaled(LabelMeans(y, maps.Labels[j]))).Max(p => Math.Abs(p.First - p.Second));
        var x0 = Image(shared.TrainingImage(0, 100, contrastSeed: 5));
        var y1 = Image(shared.TrainingImage(1, 101, contrastSeed: 5));
        var z1 = Image(shared.TrainingImage(1, 101, contrastSeed: 6));
        Assert.True(Gap(x0, 0, y1, 1) < 0.05, $"pair with one contrast differs by {Gap(x0, 0, y1, 1)}");
        Assert.True(Gap(x0, 0, z1, 1) > 0.1, $"pair with two contrasts differs by only {Gap(x0, 0, z1, 1)}");
        // the held-out subjects' fixed syntheses: one contrast for all when shared, one each otherwise
        Assert.True(Gap(Image(shared.Images[2]), 2, Image(shared.Images[3]), 3) < 0.05);
        using var own = SymNetTrainingData.FromLabelMaps(maps, synth, validationCount: 2, seed: 10);
        Assert.True(Gap(Image(own.Images[2]), 2, Image(own.Images[3]), 3) > 0.1);
    }

    [Fact]
    public void ATrainingSampleCarriesTheLabelMapItsImageWasDrawnFrom()
    {
        using var scope = NewDisposeScope();
        using var maps = Maps();
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()) { ZeroBackground = true };
        using var data = SymNetTrainingData.FromLabelMaps(maps, synth, validationCount: 2, seed: 10);
        var (image, labels) = data.TrainingSample(1, 100);
        Assert.Equal([1L, 1, 32, 32, 32], labels!.shape);                      // padded like the image
        Assert.Equal(0L, labels[0, 0, TensorIndex.Slice(24, null)].abs().sum().item<long>());
        TensorIndex[] core = [TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24), TensorIndex.Slice(0, 24)];
        Assert.True((labels[core] == maps.Labels[1]).all().item<bool>());
        Assert.True((image == data.TrainingImage(1, 100)).all().item<bool>());

        using var deformed = SymNetTrainingData.FromLabelMaps(maps, synth, 2, 10, deformation: new RandomDeformation());
        var (dImage, dLabels) = deformed.TrainingSample(1, 100);
        Assert.False((dLabels![core] == maps.Labels[1]).all().item<bool>());
        // the image was drawn from the deformed map: background (label 0) is exactly where the image is zero
        Assert.True(((dLabels == 0) == (dImage == 0)).all().item<bool>());
    }
}
