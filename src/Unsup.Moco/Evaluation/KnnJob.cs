using Unsup.Data;
using Unsup.Moco.Weights;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

public sealed record KnnJobOptions
{
    public int K { get; init; } = 200;
    public double Temperature { get; init; } = 0.1;
    /// <summary>Also run the same kNN on raw pixels (the baseline).</summary>
    public bool Pixels { get; init; }
    /// <summary>Backbone (pooled, the downstream features) or head (the pretraining monitor's default, as the CIFAR demo).</summary>
    public KnnFeatures Features { get; init; } = KnnFeatures.Backbone;
    public Device Device { get; init; } = CPU;
    public int FeatureBatch { get; init; } = 256;
    public ProgressMode Progress { get; init; } = ProgressMode.Quiet;
}

/// <param name="FeatureDim">Length of the feature vectors the kNN read.</param>
public sealed record KnnJobResult(KnnResult Encoder, KnnResult? Pixels, long FeatureDim);

/// <summary>`unsup moco knn`: the weighted kNN of an encoder's features (train split = bank, test split = queries), the pretraining monitor's number.</summary>
public static class KnnJob
{
    public static KnnJobResult Run(PretrainedEncoder encoder, ImageDataset train, ImageDataset test, KnnJobOptions o)
    {
        using var yTrain = tensor(train.Labels ?? throw new UnsupException($"{train.Name}: the kNN needs labels"));
        using var yTest = tensor(test.Labels ?? throw new UnsupException($"{test.Name}: the kNN needs labels"));
        var features = EncoderFeatures.Of(encoder, o.Device, o.FeatureBatch, o.Progress);
        var res = KnnEvaluation.Evaluate(features, train.Images, yTrain, test.Images, yTest, train.ClassCount, o.K, o.Temperature, o.Features);
        var px = o.Pixels ? KnnEvaluation.EvaluatePixels(train.Images, yTrain, test.Images, yTest, train.ClassCount, o.K, o.Temperature) : null;
        long dim = o.Features == KnnFeatures.Head ? HeadDim(encoder) : encoder.Options.FeatureDim;
        return new KnnJobResult(res, px, dim);
    }

    static long HeadDim(PretrainedEncoder encoder)
    {
        using var _ = no_grad();
        using var probe = zeros(1, encoder.Options.FeatureDim);
        using var y = encoder.Head!.call(probe.to(encoder.Backbone.parameters().First().device));
        return y.shape[1];
    }
}
