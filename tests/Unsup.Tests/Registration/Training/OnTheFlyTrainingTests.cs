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
