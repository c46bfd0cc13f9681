using System.Globalization;
using Unsup.Data;
using Unsup.IO.Numpy;
using Unsup.Moco.Weights;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

public sealed record NeighborsJobOptions
{
    /// <summary>Embedding file made by <see cref="EmbedJob"/> from the same encoder and split.</summary>
    public required string IndexPath { get; init; }
    /// <summary>"train" or "test": the split the index was made from (for messages).</summary>
    public string Split { get; init; } = "train";
    /// <summary>Row of the split as the query; or <see cref="QueryFile"/>.</summary>
    public int? QueryRow { get; init; }
    /// <summary>An image file as the query (resized to the split's image size).</summary>
    public string? QueryFile { get; init; }
    public int K { get; init; } = 8;
    /// <summary>PNG strip: the query, then its neighbours with their similarity.</summary>
    public string? OutPng { get; init; }
    public Device Device { get; init; } = CPU;
}

public sealed record Neighbor(long Row, double Similarity, string Source, string Class);

/// <param name="Head">The index holds projection-head outputs (else pooled backbone features).</param>
public sealed record NeighborsJobResult(string QueryName, bool Head, IReadOnlyList<Neighbor> Neighbors);

/// <summary>`unsup moco neighbors`: the nearest images of a query by cosine similarity in an embedding index.</summary>
public static class NeighborsJob
{
    public static NeighborsJobResult Run(PretrainedEncoder encoder, ImageDataset set, NeighborsJobOptions o)
    {
        if ((o.QueryFile == null) == (o.QueryRow == null)) throw new UnsupException("give either --query FILE or --query-row N");
        using var bank = NpyReader.Read(o.IndexPath);
        var rows = EmbeddingFiles.ReadIndex(o.IndexPath);
        if (bank.dim() != 2 || bank.shape[0] != set.Count || rows.Count != set.Count)
            throw UnsupException.ForFile(o.IndexPath, $"has {(bank.dim() == 2 ? bank.shape[0] : -1)} rows ({rows.Count} in the CSV) but the {o.Split} split has {set.Count} images: " +
                                                      "make the index with the same --data, --split and --max-images");
        bool head = encoder.Head != null && bank.shape[1] != encoder.Options.FeatureDim;
        Tensor queryImage;
        string queryName;
        if (o.QueryRow is int row)
        {
            if (row < 0 || row >= set.Count) throw new UnsupException($"--query-row {row}: the split has rows 0..{set.Count - 1}");
            queryImage = set.Images.narrow(0, row, 1).clone();
            queryName = $"row {row} ({rows[row].Source})";
        }
        else
        {
            queryImage = ReadQueryImage(o.QueryFile!, set);
            queryName = o.QueryFile!;
        }
        using var _q = queryImage;
        using var qf = EncoderFeatures.Of(encoder, o.Device).Extract(queryImage, head);
        var hits = NearestNeighbors.Search(bank, qf, o.K)[0]
            .Select(h => new Neighbor(h.Row, h.Similarity, rows[(int)h.Row].Source, rows[(int)h.Row].Class)).ToList();
        if (o.OutPng is string outPng)
        {
            using var idx = tensor(hits.Select(h => h.Row).ToArray());
            using var neighbours = set.Images.index_select(0, idx);
            using var strip = cat([queryImage.expand(-1, set.Channels, -1, -1).to(ScalarType.Byte), neighbours], 0);
            ImageStripPng.Write(outPng, strip, ["query", .. hits.Select(h => h.Similarity.ToString("F3", CultureInfo.InvariantCulture))]);
        }
        return new NeighborsJobResult(queryName, head, hits);
    }

    /// <summary>An image file decoded and resized as the split's images were.</summary>
    static Tensor ReadQueryImage(string file, ImageDataset set)
    {
        if (!File.Exists(file)) throw UnsupException.ForFile(file, "query image not found");
        var tmp = Directory.CreateTempSubdirectory("unsup-query-");
        try
        {
            File.Copy(file, Path.Combine(tmp.FullName, Path.GetFileName(file)));
            using var q = ImageFolder.Load(tmp.FullName, new ImageFolderOptions { Channels = set.Channels, Size = set.Height, MaxThreads = 1 });
            return q.Images.clone();
        }
        finally { tmp.Delete(true); }
    }
}
