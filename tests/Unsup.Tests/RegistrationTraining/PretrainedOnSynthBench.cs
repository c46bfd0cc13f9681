using Unsup.Registration.Training;
using Xunit.Abstractions;

namespace Unsup.Tests.RegistrationTraining;

/// <summary>
/// Not a test: the domain-shift data point for the README. The official pretrained SYMNet (OASIS scans) on the
/// held-out synthesised pairs (subjects 08–10, 6 ordered pairs) at full 1 mm resolution, Dice and folding.
/// Run: UNSUP_SYNTH_DIR=runs/synth-1mm UNSUP_DATA=../shared/data dotnet test tests/Unsup.Tests --filter "FullyQualifiedName~PretrainedOnSynthBench"
/// (UNSUP_SYNTH_DOWNSAMPLE=3 evaluates at the training run's grid instead.)
/// </summary>
public class PretrainedOnSynthBench(ITestOutputHelper output)
{
    [SkippableFact]
    public void Official_weights_on_held_out_synthesised_pairs()
    {
        var dir = Environment.GetEnvironmentVariable("UNSUP_SYNTH_DIR");
        Skip.If(string.IsNullOrEmpty(dir), "set UNSUP_SYNTH_DIR to a folder written by SynthAnatomyPrep");
        int down = int.TryParse(Environment.GetEnvironmentVariable("UNSUP_SYNTH_DOWNSAMPLE"), out var d) ? d : 1;
        int threads = int.TryParse(Environment.GetEnvironmentVariable("UNSUP_SYNTH_THREADS"), out var t) ? t : 2;
        Unsup.TorchRuntime.SetThreads(threads);
        var weights = TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth");
        using var data = SymNetTrainingData.Load(ImageList.Resolve(Path.Combine(dir!, "images")), ImageList.Resolve(Path.Combine(dir!, "labels")),
            validationCount: 3, downsample: down);
        using var trainer = new SymNetTrainer(new SymNetTrainConfig { StartChannels = 7, Init = weights }, data.Dims);
        trainer.LoadInit();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var v = trainer.Validate(data);
        var line = $"official weights, grid {string.Join("x", data.Spatial)} (downsample {down}): Dice {v.MeanDice:F4} ± {v.StdDice:F4}, " +
                   $"no registration {v.MeanDiceBefore:F4}, det J <= 0 {v.PercentFolding:F4}% over {v.Pairs} pairs, {sw.Elapsed.TotalSeconds / v.Pairs:F1} s/pair; " +
                   $"labels {string.Join(",", v.Labels)}";
        output.WriteLine(line);
        File.AppendAllText(Path.Combine(dir!, "pretrained.txt"), line + "\n");
        Assert.True(double.IsFinite(v.MeanDice));
    }
}
