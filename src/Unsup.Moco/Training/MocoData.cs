using static TorchSharp.torch;

namespace Unsup.Moco.Training;

/// <summary>
/// What MoCo training needs from a dataset: uint8 images [N, C, H, W] (CPU) and, for the kNN monitor, labels [N]
/// plus a labelled test split. Adapt any reader (IDX, CIFAR, STL, folder) to this.
/// </summary>
public sealed record MocoData(Tensor TrainImages, Tensor? TrainLabels = null, Tensor? TestImages = null, Tensor? TestLabels = null, int NumClasses = 0)
{
    public bool HasLabels => TrainLabels is not null && TestImages is not null && TestLabels is not null && NumClasses > 0;
    public long Channels => TrainImages.shape[1];
}
