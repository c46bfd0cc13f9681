namespace Unsup.Moco.Evaluation;

/// <summary>
/// Which features a kNN reads. The official CIFAR-10 demo monitors the query encoder's output after its fc (the
/// 128-d projection, L2-normalised): <see cref="Head"/>. Downstream protocols (linear probe, embeddings) use the
/// pooled backbone features: <see cref="Backbone"/>. The two give different numbers, so every reported kNN names its kind.
/// </summary>
public enum KnnFeatures { Head, Backbone }

public static class KnnFeaturesNames
{
    public static readonly string[] Names = ["head", "backbone"];

    public static KnnFeatures Parse(string name) => name.ToLowerInvariant() switch
    {
        "head" => KnnFeatures.Head,
        "backbone" => KnnFeatures.Backbone,
        _ => throw new UnsupException($"--knn-features {name}: expected head or backbone"),
    };

    public static string Name(this KnnFeatures f) => f == KnnFeatures.Head ? "head" : "backbone";
}
