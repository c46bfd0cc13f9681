using Unsup.Registration.Synthesis;
using Xunit.Abstractions;

namespace Unsup.Tests.RegistrationTraining;

/// <summary>
/// Not a test but the documented way to make the real-anatomy training set (README): synthesised T1-like images
/// from ../shared/data/synthseg/training_seg_01..10 and their brain label maps, cropped to one brain box, at 1 mm.
/// Run: UNSUP_SYNTH_PREP=/path/to/out dotnet test tests/Unsup.Tests --filter "FullyQualifiedName~SynthAnatomyPrep"
/// </summary>
public class SynthAnatomyPrep(ITestOutputHelper output)
{
    [SkippableFact]
    public void Write_synthesised_training_set()
    {
        var outDir = Environment.GetEnvironmentVariable("UNSUP_SYNTH_PREP");
        Skip.If(string.IsNullOrEmpty(outDir), "set UNSUP_SYNTH_PREP=/path/to/out to write the synthesised SynthSeg training set");
        var maps = Enumerable.Range(1, 10).Select(i => TestData.Shared($"synthseg/training_seg_{i:D2}.nii.gz")).ToList();
        Skip.IfNot(maps.All(File.Exists), "../shared/data/synthseg is not present");
        Unsup.TorchRuntime.SetThreads(2);
        var synth = new LabelImageSynthesizer(LabelIntensityPriors.T1SkullStripped()) { BlurSigma = 1.0 };
        var written = SynthesizedDataset.Write(maps, outDir!, synth, seed: 1000, margin: 4);
        var boxes = string.Join("\n", written.Boxes.Select((b, i) => $"{Path.GetFileName(written.Images[i])}: {b}"));
        output.WriteLine(boxes);
        File.WriteAllText(Path.Combine(outDir!, "boxes.txt"), boxes + "\n");
        Assert.Equal(10, written.Images.Count);
    }
}
