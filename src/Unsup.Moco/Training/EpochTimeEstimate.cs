using System.Diagnostics;
using Unsup.Moco.Augment;
using static TorchSharp.torch;

namespace Unsup.Moco.Training;

/// <summary>Time per epoch of a configuration on this machine, from a few timed training steps.</summary>
public sealed record EpochTimeEstimate(double SecondsPerStep, int StepsPerEpoch, int BatchSize, int TimedSteps)
{
    public double ImagesPerSecond => BatchSize / SecondsPerStep;
    public TimeSpan Epoch => TimeSpan.FromSeconds(SecondsPerStep * StepsPerEpoch);

    /// <summary>"about 4.2 min per epoch (117 steps of 512; 240 img/s over 2 timed steps)".</summary>
    public string Describe() =>
        $"about {Format(Epoch)} per epoch ({StepsPerEpoch} steps of {BatchSize}; {ImagesPerSecond:F0} img/s over {TimedSteps} timed steps after one warm-up step)";

    static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours:F1} h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:F1} min" : $"{t.TotalSeconds:F0} s";

    /// <summary>
    /// Builds a throw-away trainer for <paramref name="config"/> and times <paramref name="timedSteps"/> steps after one
    /// warm-up step (the first step pays for allocations and kernel selection). Nothing is written; a trainer built
    /// afterwards reseeds torch, so a run that follows is the same as one without the estimate.
    /// </summary>
    public static EpochTimeEstimate Measure(MocoConfig config, Tensor trainImages, Device device, int timedSteps = 2)
    {
        using var trainer = new MocoTrainer(config, device, Normalize.ForChannels(trainImages.shape[1]), trainImages.shape[0]);
        trainer.CheckImages(trainImages);
        using var order = trainer.NewEpochOrder();
        trainer.Step(trainImages, order, 0);
        var clock = Stopwatch.StartNew();
        for (int i = 1; i <= timedSteps; i++) trainer.Step(trainImages, order, i);
        return new EpochTimeEstimate(clock.Elapsed.TotalSeconds / timedSteps, trainer.StepsPerEpoch, config.BatchSize, timedSteps);
    }
}
