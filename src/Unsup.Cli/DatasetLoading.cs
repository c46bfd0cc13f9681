using System.CommandLine;
using Unsup.Data;
using Unsup.Moco.Training;
using static TorchSharp.torch;

namespace Unsup.Cli;

/// <summary>Turns a --data spec into tensors for the MoCo verbs (train split, plus the test split when labelled).</summary>
public static class DatasetLoading
{
    public static (ImageDataset Train, ImageDataset? Test) Load(ParseResult r, string spec, int? imageSize, int? maxImages)
    {
        var ds = DataSpec.Parse(spec);
        var resolver = DataLocations.Resolver(r);
        var folder = new ImageFolderOptions { Size = imageSize };
        var train = ds.Load(DataSplit.Train, resolver, folder);
        ImageDataset? test = ds.HasSplit(DataSplit.Test) ? ds.Load(DataSplit.Test, resolver, folder) : null;
        if (train.Count == 0) throw new UnsupException($"--data {spec}: the training split is empty");
        if (maxImages is int m && m < train.Count)
            train = Subset(train, m);
        return (train, test);
    }

    static ImageDataset Subset(ImageDataset d, int n)
    {
        var images = d.Images.narrow(0, 0, n).clone();
        var sub = new ImageDataset(images, d.Labels?[..n], d.ClassNames, d.Sources?[..n], d.Name + $"[:{n}]");
        d.Dispose();
        return sub;
    }

    public static MocoData ToMocoData(ImageDataset train, ImageDataset? test)
    {
        bool labelled = train.Labels != null && test?.Labels != null && train.Labels.All(l => l >= 0);
        return labelled
            ? new MocoData(train.Images, tensor(train.Labels!), test!.Images, tensor(test.Labels!), train.ClassCount)
            : new MocoData(train.Images);
    }
}
