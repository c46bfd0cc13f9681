using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>Which STL-10 images make up a set.</summary>
[Flags]
public enum Stl10Part { Train = 1, Test = 2, Unlabeled = 4, TrainAndUnlabeled = Train | Unlabeled }

/// <summary>
/// STL-10 binary files (stl10_binary/): *_X.bin hold 96x96 RGB images as uint8, each image channel by channel
/// and each channel in column-major (MATLAB) order, so a channel's bytes run down the first column first;
/// *_y.bin hold one label byte per image, 1..10. train = 5,000 labelled, test = 8,000, unlabeled = 100,000.
/// </summary>
public static class Stl10
{
    public const int Side = 96;
    public const long ImageBytes = 3L * Side * Side;

    public static readonly string[] DefaultClassNames =
        ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"];

    /// <summary>Loads the union of <paramref name="parts"/> (in the order train, test, unlabeled) from DIR or DIR/stl10_binary.
    /// Images of the unlabeled part get label -1; a set with only unlabeled images has no labels.</summary>
    public static ImageDataset Load(string dir, Stl10Part parts)
    {
        string folder = BinaryRecords.Locate(dir, "stl10_binary", "test_X.bin", "STL-10");
        var names = BinaryRecords.ReadNames(Path.Combine(folder, "class_names.txt"), 10) ?? DefaultClassNames;
        var chosen = new List<(string x, string? y)>();
        if (parts.HasFlag(Stl10Part.Train)) chosen.Add(("train_X.bin", "train_y.bin"));
        if (parts.HasFlag(Stl10Part.Test)) chosen.Add(("test_X.bin", "test_y.bin"));
        if (parts.HasFlag(Stl10Part.Unlabeled)) chosen.Add(("unlabeled_X.bin", null));
        if (chosen.Count == 0) throw new ArgumentException("no STL-10 part chosen", nameof(parts));

        var counts = chosen.Select(c => BinaryRecords.Count(Path.Combine(folder, c.x), ImageBytes, "STL-10 96x96x3 image")).ToArray();
        long n = counts.Sum();
        bool anyLabelled = chosen.Any(c => c.y != null);
        using var scope = torch.NewDisposeScope();
        var images = torch.empty([n, 3, Side, Side], ScalarType.Byte);
        var labels = anyLabelled ? new long[n] : null;
        var sources = new string[n];
        long offset = 0;
        for (int p = 0; p < chosen.Count; p++)
        {
            var (xName, yName) = chosen[p];
            string xPath = Path.Combine(folder, xName);
            long baseOffset = offset;
            BinaryRecords.ForEachChunk(xPath, ImageBytes, 2_000, (start, chunk) =>
            {
                long k = chunk.shape[0];
                // bytes are [k, C, W, H] (column-major per channel): swap the last two axes to get rows first
                images.narrow(0, baseOffset + start, k).copy_(chunk.reshape(k, 3, Side, Side).transpose(2, 3));
            });
            for (long i = 0; i < counts[p]; i++) sources[offset + i] = $"{xName}[{i}]";
            if (labels != null)
            {
                if (yName == null) Array.Fill(labels, -1L, (int)offset, (int)counts[p]);
                else ReadLabels(Path.Combine(folder, yName), counts[p], xPath).CopyTo(labels, offset);
            }
            offset += counts[p];
        }
        string name = "stl10/" + string.Join("+", chosen.Select(c => c.x[..c.x.IndexOf("_X", StringComparison.Ordinal)]));
        return new ImageDataset(images, labels, names, sources, name);
    }

    static long[] ReadLabels(string path, long expected, string imagesPath)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "file not found (the labels for " + Path.GetFileName(imagesPath) + ")");
        var bytes = File.ReadAllBytes(path);
        if (bytes.LongLength != expected)
            throw UnsupException.ForFile(path, $"{bytes.Length} labels but {imagesPath} has {expected} images");
        var labels = new long[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] < 1 || bytes[i] > 10) throw UnsupException.ForFile(path, $"label {bytes[i]} at index {i} is outside 1..10");
            labels[i] = bytes[i] - 1;
        }
        return labels;
    }
}
