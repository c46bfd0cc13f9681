using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>
/// Fashion-MNIST and MNIST from their four IDX files (gzip or plain), named as published:
/// train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].
/// </summary>
public static class FashionMnist
{
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static readonly string[] FileNames =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    /// <summary>Loads the training (60,000) or test (10,000) split from <paramref name="folder"/> as uint8 [N,1,28,28].</summary>
    public static ImageDataset Load(string folder, bool train) => Mnist.LoadIdxPair(folder, train, ClassNames, "fashion-mnist");
}

/// <summary>The original MNIST digits: same file names and format as Fashion-MNIST, classes "0".."9".</summary>
public static class Mnist
{
    public static readonly string[] ClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    public static ImageDataset Load(string folder, bool train) => LoadIdxPair(folder, train, ClassNames, "mnist");

    internal static ImageDataset LoadIdxPair(string folder, bool train, string[] classNames, string name)
    {
        if (!Directory.Exists(folder)) throw UnsupException.ForFile(folder, "folder not found");
        string prefix = train ? "train" : "t10k";
        string imagesPath = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(folder, $"{prefix}-labels-idx1-ubyte");

        using var scope = torch.NewDisposeScope();
        var images = IdxReader.Read(imagesPath);
        if (images.dtype != ScalarType.Byte || images.dim() != 3)
            throw UnsupException.ForFile(imagesPath, $"expected uint8 images [N,H,W], found {images.dtype} [{string.Join(",", images.shape)}]");
        var labelsT = IdxReader.Read(labelsPath);
        if (labelsT.dtype != ScalarType.Byte || labelsT.dim() != 1)
            throw UnsupException.ForFile(labelsPath, $"expected uint8 labels [N], found {labelsT.dtype} [{string.Join(",", labelsT.shape)}]");
        if (labelsT.shape[0] != images.shape[0])
            throw UnsupException.ForFile(labelsPath, $"{labelsT.shape[0]} labels but {imagesPath} has {images.shape[0]} images");
        var labels = labelsT.to_type(ScalarType.Int64).data<long>().ToArray();
        long bad = Array.FindIndex(labels, l => l >= classNames.Length);
        if (bad >= 0) throw UnsupException.ForFile(labelsPath, $"label {labels[bad]} at index {bad} is not a class 0..{classNames.Length - 1}");

        var sources = SourceNames(Path.GetFileName(imagesPath), labels.Length);
        var result = new ImageDataset(images.unsqueeze(1).contiguous(), labels, classNames, sources, $"{name}/{(train ? "train" : "test")}");
        return result;
    }

    static string Find(string folder, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var p = Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        throw UnsupException.ForFile(folder, $"missing {stem}.gz (or {stem}): expected the four IDX files of MNIST / Fashion-MNIST here");
    }

    /// <summary>"file[i]" source names, one per image.</summary>
    internal static string[] SourceNames(string file, long n)
    {
        var s = new string[n];
        for (long i = 0; i < n; i++) s[i] = $"{file}[{i}]";
        return s;
    }
}
