namespace Unsup.Moco;

/// <summary>
/// Learning rate as a function of (fractional) epoch: optional linear warm-up, then step decay (×gamma at each
/// milestone, the paper's 120/160 of 200) or half-cosine to 0 (v2). The official code changes the rate once per
/// epoch: pass the integer epoch for that, or epoch + (step+1)/steps for a per-step schedule.
/// </summary>
public sealed record LearningRateSchedule(double BaseLr, int Epochs, string Kind = "cosine", int[]? Milestones = null,
    double Gamma = 0.1, double WarmupEpochs = 0)
{
    public static readonly string[] Kinds = ["cosine", "step"];

    public double At(double epoch)
    {
        if (WarmupEpochs > 0 && epoch < WarmupEpochs)
            return BaseLr * Math.Max(epoch, 1e-3 * WarmupEpochs) / WarmupEpochs;
        switch (Kind)
        {
            case "cosine":
                return BaseLr * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(epoch, Epochs) / Epochs));
            case "step":
                double lr = BaseLr;
                foreach (var m in Milestones ?? []) if (epoch >= m) lr *= Gamma;
                return lr;
            default:
                throw new UnsupException($"--schedule {Kind}: expected {string.Join(" or ", Kinds)}");
        }
    }
}
