namespace Unsup.Moco.Training;

/// <summary>Reported after every step (progress display, metrics.jsonl).</summary>
/// <param name="Epoch">0-based epoch being trained.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="Top1">Contrastive accuracy: fraction of queries whose positive key ranks first of K+1.</param>
/// <param name="ImagesPerSecond">Throughput of this epoch so far (training images, not views).</param>
public sealed record MocoProgress(int Epoch, int Step, int StepsPerEpoch, double Loss, double Top1, double Lr, double ImagesPerSecond);

/// <summary>Means over one epoch.</summary>
public sealed record MocoEpochResult(int Epoch, double Loss, double Top1, double Lr, double ImagesPerSecond, double Seconds);
