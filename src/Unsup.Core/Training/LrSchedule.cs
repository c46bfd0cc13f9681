using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>
/// A learning-rate schedule as a pure function of the step, applied to the optimizer before each step.
/// Its whole "position" is the step counter the checkpoint already holds, so resuming needs nothing else
/// (TorchSharp's LRScheduler objects keep private state that cannot be saved).
/// </summary>
public abstract class LrSchedule
{
    /// <summary>Multiplier on each param group's initial learning rate for the step about to run (0-based).</summary>
    public abstract double Factor(long step);

    /// <summary>Sets every param group's learning rate for <paramref name="step"/>; returns the first group's.</summary>
    public double Apply(optim.Optimizer optimizer, long step)
    {
        double f = Factor(step), first = double.NaN;
        foreach (var g in optimizer.ParamGroups)
        {
            g.LearningRate = g.InitialLearningRate * f;
            if (double.IsNaN(first)) first = g.LearningRate;
        }
        return first;
    }

    public static LrSchedule Constant() => new Fn(_ => 1.0);

    /// <summary>× gamma every <paramref name="stepSize"/> steps (torch StepLR).</summary>
    public static LrSchedule StepDecay(long stepSize, double gamma)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize));
        return new Fn(s => Math.Pow(gamma, s / stepSize));
    }

    /// <summary>× gamma at each milestone (torch MultiStepLR; MoCo v1 uses epochs 120 and 160 of 200).</summary>
    public static LrSchedule MultiStep(IEnumerable<long> milestones, double gamma)
    {
        var m = milestones.OrderBy(x => x).ToArray();
        return new Fn(s => Math.Pow(gamma, m.Count(x => s >= x)));
    }

    /// <summary>Linear warm-up then half-cosine to <paramref name="minFactor"/> at <paramref name="totalSteps"/> (MoCo v2 --cos).</summary>
    public static LrSchedule Cosine(long totalSteps, long warmupSteps = 0, double minFactor = 0)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps));
        return new Fn(s =>
        {
            if (s < warmupSteps) return (s + 1) / (double)warmupSteps;
            double p = Math.Min(1.0, (s - warmupSteps) / (double)Math.Max(1, totalSteps - warmupSteps));
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * p));
        });
    }

    /// <summary>Any function of the step.</summary>
    public static LrSchedule FromFunction(Func<long, double> factor) => new Fn(factor);

    sealed class Fn(Func<long, double> f) : LrSchedule
    {
        public override double Factor(long step) => f(step);
    }
}
