using Unsup.Data;
using Unsup.Moco.Weights;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>`unsup moco embed`: the features of every image of a split written as FILE.npy plus its FILE.csv index (<see cref="EmbeddingFiles"/>).</summary>
public static class EmbedJob
{
    /// <param name="split">"train" or "test": names array-dataset rows in the index ("NAME:SPLIT:INDEX").</param>
    /// <returns>The shape of the written features [rows, dim].</returns>
    public static (long Rows, long Dim) Run(PretrainedEncoder encoder, ImageDataset set, string split, string outPath, bool head = false,
        Device? device = null, int featureBatch = 256, ProgressMode progress = ProgressMode.Quiet)
    {
        if (set.Count == 0) throw new UnsupException($"{set.Name}: the {split} split is empty");
        using var f = EncoderFeatures.Of(encoder, device ?? CPU, featureBatch, progress).Extract(set.Images, "embed", head);
        var sources = set.Sources ?? Enumerable.Range(0, (int)set.Count).Select(i => $"{set.Name}:{split}:{i}").ToArray();
        EmbeddingFiles.Write(outPath, f, sources, set.Labels, set.ClassNames);
        return (f.shape[0], f.shape[1]);
    }
}
