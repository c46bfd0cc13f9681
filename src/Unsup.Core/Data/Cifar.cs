using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>
/// CIFAR-10 and CIFAR-100 "binary version" batches. Each record is the label byte(s) then 3072 pixel bytes:
/// the 1024 red values, then green, then blue, each a 32x32 image in row-major order (first row = top).
/// </summary>
public static class Cifar
{
    public const int ImageBytes = 3 * 32 * 32;

    public static readonly string[] Cifar10ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    public static readonly string[] Cifar100CoarseNames =
    [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
        "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
        "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals",
        "trees", "vehicles_1", "vehicles_2",
    ];

    public static readonly string[] Cifar100FineNames =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ];

    /// <summary>CIFAR-10 from DIR or DIR/cifar-10-batches-bin: train = data_batch_1..5.bin (50,000), test = test_batch.bin (10,000).</summary>
    public static ImageDataset LoadCifar10(string dir, bool train)
    {
        string folder = BinaryRecords.Locate(dir, "cifar-10-batches-bin", "test_batch.bin", "CIFAR-10");
        var files = train ? Enumerable.Range(1, 5).Select(i => Path.Combine(folder, $"data_batch_{i}.bin")).ToArray()
                          : [Path.Combine(folder, "test_batch.bin")];
        var names = BinaryRecords.ReadNames(Path.Combine(folder, "batches.meta.txt"), 10) ?? Cifar10ClassNames;
        return Load(files, labelBytes: 1, labelIndex: 0, names, $"cifar10/{(train ? "train" : "test")}");
    }

    /// <summary>CIFAR-100 from DIR or DIR/cifar-100-binary: train.bin (50,000) / test.bin (10,000);
    /// labels are the 100 fine classes, or the 20 superclasses when <paramref name="coarse"/>.</summary>
    public static ImageDataset LoadCifar100(string dir, bool train, bool coarse = false)
    {
        string folder = BinaryRecords.Locate(dir, "cifar-100-binary", "test.bin", "CIFAR-100");
        string file = Path.Combine(folder, train ? "train.bin" : "test.bin");
        var names = coarse
            ? BinaryRecords.ReadNames(Path.Combine(folder, "coarse_label_names.txt"), 20) ?? Cifar100CoarseNames
            : BinaryRecords.ReadNames(Path.Combine(folder, "fine_label_names.txt"), 100) ?? Cifar100FineNames;
        return Load([file], labelBytes: 2, labelIndex: coarse ? 0 : 1, names, $"cifar100/{(train ? "train" : "test")}");
    }

    /// <summary>Reads CIFAR-format record files: <paramref name="labelBytes"/> label bytes then 3x32x32 pixels each.</summary>
    public static ImageDataset Load(string[] files, int labelBytes, int labelIndex, string[] classNames, string name)
    {
        long record = labelBytes + ImageBytes;
        var counts = files.Select(f => BinaryRecords.Count(f, record, "CIFAR")).ToArray();
        long n = counts.Sum();
        using var scope = torch.NewDisposeScope();
        var images = torch.empty([n, 3, 32, 32], ScalarType.Byte);
        var labels = new long[n];
        var sources = new string[n];
        long offset = 0;
        for (int f = 0; f < files.Length; f++)
        {
            string file = files[f], fileName = Path.GetFileName(file);
            long baseOffset = offset;
            BinaryRecords.ForEachChunk(file, record, 10_000, (start, chunk) =>
            {
                long k = chunk.shape[0];
                images.narrow(0, baseOffset + start, k).copy_(chunk.narrow(1, labelBytes, ImageBytes).reshape(k, 3, 32, 32));
                var lab = chunk.select(1, labelIndex).to_type(ScalarType.Int64).data<long>().ToArray();
                for (long i = 0; i < k; i++)
                {
                    if (lab[i] >= classNames.Length)
                        throw UnsupException.ForFile(file, $"record {start + i} has label {lab[i]}, outside 0..{classNames.Length - 1} (wrong format or corrupt)");
                    labels[baseOffset + start + i] = lab[i];
                    sources[baseOffset + start + i] = $"{fileName}[{start + i}]";
                }
            });
            offset += counts[f];
        }
        return new ImageDataset(images, labels, classNames, sources, name);
    }
}
