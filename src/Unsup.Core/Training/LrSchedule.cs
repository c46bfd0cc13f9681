using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>
/// The learning-rate schedule of every trainer (MoCo pretraining, the linear probe, SYMNet): a pure function of the
/// 0-based optimizer step, applied to the optimizer before each step. Its whole "position" is the step counter the
/// checkpoint already holds, so resuming needs nothing else (TorchSharp's LRScheduler objects keep private state
/// that cannot be saved).
/// <para>
/// Warm-up (<see cref="WithWarmup"/>): step s &lt; W runs at (s + 1) / W of the base rate, so the last warm-up step
/// (W − 1) runs at exactly the base rate. The decay then continues from that peak step: cosine goes from 1 at step
/// W − 1 to 0 at step <c>totalSteps</c> (never run); step milestones stay absolute step numbers.
/// </para>
/// </summary>
public abstract class LrSchedule
{
    /// <summary>Names accepted by <see cref="Create"/> (the --schedule options).</summary>
    public static readonly string[] Kinds = ["constant", "cosine", "step"];

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

    /// <summary>
    /// A schedule by name: "constant", "cosine" (half-cosine to 0 at <paramref name="totalSteps"/>) or "step"
    /// (× <paramref name="gamma"/> at each of <paramref name="milestones"/>), after <paramref name="warmupSteps"/> of linear warm-up.
    /// </summary>
    public static LrSchedule Create(string kind, long totalSteps, long warmupSteps = 0, IEnumerable<long>? milestones = null, double gamma = 0.1)
    {
        if (warmupSteps < 0) throw new UnsupException($"warm-up of {warmupSteps} steps: must not be negative");
        if (warmupSteps > totalSteps) throw new UnsupException($"warm-up of {warmupSteps} steps is longer than the run ({totalSteps} steps)");
        var schedule = kind switch
        {
            "constant" => Constant(),
            "cosine" => Cosine(totalSteps, warmupSteps),
            "step" => MultiStep(milestones ?? [], gamma),
            _ => throw new UnsupException($"--schedule {kind}: expected {string.Join(", ", Kinds[..^1])} or {Kinds[^1]}"),
        };
        return kind == "cosine" ? schedule : schedule.WithWarmup(warmupSteps);
    }

    public static LrSchedule Constant() => new Fn(_ => 1.0);

    /// <summary>× gamma every <paramref name="stepSize"/> steps (torch StepLR).</summary>
    public static LrSchedule StepDecay(long stepSize, double gamma)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize));
        return new Fn(s => Math.Pow(gamma, s / stepSize));
    }

    /// <summary>× gamma at each milestone step (torch MultiStepLR; MoCo v1 uses epochs 120 and 160 of 200).</summary>
    public static LrSchedule MultiStep(IEnumerable<long> milestones, double gamma)
    {
        var m = milestones.OrderBy(x => x).ToArray();
        return new Fn(s => Math.Pow(gamma, m.Count(x => s >= x)));
    }

    /// <summary>
    /// Linear warm-up (see the class comment) then half-cosine to <paramref name="minFactor"/> at <paramref name="totalSteps"/>.
    /// MoCo v2's --cos changes the rate once per epoch in the official code; here it changes every step, which follows
    /// the same curve without the staircase.
    /// </summary>
    public static LrSchedule Cosine(long totalSteps, long warmupSteps = 0, double minFactor = 0)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps));
        long peak = Math.Max(warmupSteps, 1) - 1;     // the step that runs at the full rate: the decay's position 0
        return new Fn(s =>
        {
            if (s < warmupSteps) return (s + 1) / (double)warmupSteps;
            double p = Math.Min(1.0, (s - peak) / (double)Math.Max(1, totalSteps - peak));
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * p));
        });
    }

    /// <summary>This schedule after <paramref name="warmupSteps"/> of linear warm-up, (s + 1) / W of the base rate; unchanged from step W on.</summary>
    public LrSchedule WithWarmup(long warmupSteps) =>
        warmupSteps <= 0 ? this : new Fn(s => s < warmupSteps ? (s + 1) / (double)warmupSteps : Factor(s));

    /// <summary>Any function of the step.</summary>
    public static LrSchedule FromFunction(Func<long, double> factor) => new Fn(factor);

    sealed class Fn(Func<long, double> f) : LrSchedule
    {
        public override double Factor(long step) => f(step);
    }
}
