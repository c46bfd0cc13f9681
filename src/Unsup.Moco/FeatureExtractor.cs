using Unsup.Moco.Augment;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>Backbone features of un-augmented images, in eval mode and without gradients (kNN monitor, linear probe).</summary>
public static class FeatureExtractor
{
    /// <param name="encoder">Usually the query encoder; its train/eval mode is restored afterwards.</param>
    /// <param name="images">uint8 or [0,1] float [N, C, H, W], any device (batches are moved to <paramref name="device"/>).</param>
    /// <returns>[N, FeatureDim] on the CPU.</returns>
    public static Tensor Extract(ResNet encoder, Tensor images, Normalize normalize, Device device, int batchSize = 256)
    {
        bool wasTraining = encoder.training;
        encoder.eval();
        try
        {
            using var _ = no_grad();
            var parts = new List<Tensor>();
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start)).to(device);
                var x = normalize.Apply(MocoAugmentation.ToUnitFloat(batch));
                parts.Add(encoder.Features(x).cpu().MoveToOuterDisposeScope());
            }
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return all;
        }
        finally
        {
            encoder.train(wasTraining);
        }
    }

    /// <summary>kNN top-1 of <paramref name="encoder"/>'s features: bank = train split, queries = test split.</summary>
    public static double KnnAccuracy(ResNet encoder, Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels,
        int numClasses, Normalize normalize, Device device, int k = 200, double temperature = 0.1, int batchSize = 256)
    {
        using var scope = NewDisposeScope();
        var bank = Extract(encoder, trainImages, normalize, device, batchSize);
        var test = Extract(encoder, testImages, normalize, device, batchSize);
        using var knn = new KnnClassifier(bank, trainLabels, numClasses, k, temperature);
        return knn.Accuracy(test, testLabels);
    }
}
