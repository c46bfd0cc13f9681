namespace Unsup.Data;

/// <summary>
/// A dataset named on the command line, parsed by <see cref="Parse"/> and loaded split by split with <see cref="Load"/>:
/// <list type="bullet">
/// <item>"fashion-mnist" (found by <see cref="DataResolver"/>) or "fashion-mnist:DIR"; "mnist:DIR"</item>
/// <item>"cifar10:DIR", "cifar100:DIR" (fine labels)</item>
/// <item>"stl10:DIR[:train|unlabeled|train+unlabeled|test]": the suffix chooses what the train split holds
/// (default train = the 5,000 labelled images); the test split is always STL-10's test set</item>
/// <item>"folder:DIR": DIR/train and DIR/test (or DIR/val) when present, else DIR is the train split and there is no test split</item>
/// </list>
/// </summary>
public sealed record DataSpec(string Kind, string? Dir, string? Variant)
{
    public const string AcceptedForms =
        "fashion-mnist | fashion-mnist:DIR | mnist:DIR | cifar10:DIR | cifar100:DIR | stl10:DIR[:train|unlabeled|train+unlabeled|test] | folder:DIR";

    static readonly string[] StlVariants = ["train", "unlabeled", "train+unlabeled", "test"];

    public static DataSpec Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new UnsupException($"empty data spec; accepted forms: {AcceptedForms}");
        text = text.Trim();
        int colon = text.IndexOf(':');
        string kind = (colon < 0 ? text : text[..colon]).ToLowerInvariant();
        string? rest = colon < 0 ? null : text[(colon + 1)..];
        if (rest is { Length: 0 }) rest = null;
        switch (kind)
        {
            case "fashion-mnist":
                return new DataSpec(kind, rest, null);
            case "mnist" or "cifar10" or "cifar100" or "folder":
                if (rest == null) throw new UnsupException($"data spec '{text}' needs a folder: {kind}:DIR");
                return new DataSpec(kind, rest, null);
            case "stl10":
            {
                if (rest == null) throw new UnsupException($"data spec '{text}' needs a folder: stl10:DIR[:train|unlabeled|train+unlabeled|test]");
                string? variant = null;
                int last = rest.LastIndexOf(':');
                if (last >= 0 && StlVariants.Contains(rest[(last + 1)..].ToLowerInvariant()))
                {
                    variant = rest[(last + 1)..].ToLowerInvariant();
                    rest = rest[..last];
                }
                return new DataSpec(kind, rest, variant);
            }
            default:
                throw new UnsupException($"unknown data spec '{text}'; accepted forms: {AcceptedForms}");
        }
    }

    /// <summary>Whether <see cref="Load"/> can give this split (a plain image folder has no test split).</summary>
    public bool HasSplit(DataSplit split) =>
        split == DataSplit.Train || Kind != "folder" || TestFolder() != null;

    /// <summary>Loads one split. <paramref name="resolver"/> finds "fashion-mnist" without a folder (default: a resolver with default places);
    /// <paramref name="folderOptions"/> applies to image folders.</summary>
    public ImageDataset Load(DataSplit split, DataResolver? resolver = null, ImageFolderOptions? folderOptions = null,
        Action<DownloadProgress>? progress = null)
    {
        bool train = split == DataSplit.Train;
        switch (Kind)
        {
            case "fashion-mnist":
            {
                string dir = Dir ?? (resolver ?? new DataResolver()).Resolve("fashion-mnist", progress).Folder;
                // accept a data folder (DIR/fashion-mnist/...) as well as the folder of the IDX files
                if (Dir != null && !File.Exists(Path.Combine(dir, FashionMnist.FileNames[0])) && Directory.Exists(Path.Combine(dir, "fashion-mnist")))
                    dir = Path.Combine(dir, "fashion-mnist");
                return FashionMnist.Load(dir, train);
            }
            case "mnist": return Mnist.Load(Dir!, train);
            case "cifar10": return Cifar.LoadCifar10(Dir!, train);
            case "cifar100": return Cifar.LoadCifar100(Dir!, train);
            case "stl10":
                return Stl10.Load(Dir!, !train ? Stl10Part.Test : Variant switch
                {
                    "unlabeled" => Stl10Part.Unlabeled,
                    "train+unlabeled" => Stl10Part.TrainAndUnlabeled,
                    "test" => Stl10Part.Test,
                    _ => Stl10Part.Train,
                });
            case "folder":
            {
                if (train) return ImageFolder.Load(TrainFolder(), folderOptions);
                return ImageFolder.Load(TestFolder() ?? throw UnsupException.ForFile(Dir!,
                    "has no test/ or val/ sub-folder, so there is no test split (give a folder with train/ and test/ inside)"), folderOptions);
            }
            default: throw new UnsupException($"unknown data kind '{Kind}'; accepted forms: {AcceptedForms}");
        }
    }

    string TrainFolder() => Directory.Exists(Path.Combine(Dir!, "train")) && TestFolder() != null ? Path.Combine(Dir!, "train") : Dir!;

    string? TestFolder()
    {
        if (!Directory.Exists(Path.Combine(Dir!, "train"))) return null;
        foreach (var name in new[] { "test", "val" })
            if (Directory.Exists(Path.Combine(Dir!, name))) return Path.Combine(Dir!, name);
        return null;
    }

    public override string ToString() => Kind + (Dir != null ? ":" + Dir : "") + (Variant != null ? ":" + Variant : "");
}
