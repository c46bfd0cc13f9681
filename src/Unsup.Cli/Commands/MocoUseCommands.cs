using System.CommandLine;
using System.Globalization;
using Unsup.Data;
using Unsup.Moco.Evaluation;
using Unsup.Moco.Weights;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Cli.Commands;

/// <summary>`unsup moco knn | embed | lincls | export`: using a pretrained encoder (ours or PyTorch's).</summary>
public static class MocoUseCommands
{
    const string WeightsHelp = "Encoder weights: an Unsup run folder or checkpoint, an official MoCo checkpoint (torch.save with module.encoder_q.*), or a torchvision ResNet state_dict";

    static Option<string> WeightsOption() => new("--weights") { Description = WeightsHelp, Required = true };
    static Option<string> DataOption() => new("--data") { Description = "Images: " + DataSpec.AcceptedForms, DefaultValueFactory = _ => "fashion-mnist" };
    static Option<int?> ImageSizeOption() => new("--image-size") { Description = "Image folders: scale the shorter side to S and centre-crop SxS" };
    static Option<int?> MaxImagesOption() => new("--max-images") { Description = "Use the first N training images only (quick runs)" };
    static Option<int?> MaxTestOption() => new("--max-test-images") { Description = "Use the first N test images only (quick runs)" };
    static Option<int> BatchOption() => new("--feature-batch") { Description = "Images per forward pass when extracting features", DefaultValueFactory = _ => 256 };
    static Option<bool> RandomInitOption() => new("--random-init") { Description = "Baseline: the same architecture at random initialisation instead of the weights' values" };

    sealed record Loaded(PretrainedEncoder Encoder, ImageDataset Train, ImageDataset? Test) : IDisposable
    {
        public void Dispose() { Encoder.Dispose(); Train.Dispose(); Test?.Dispose(); }
    }

    static Loaded Load(ParseResult r, Option<string> weights, Option<string> data, Option<int?> imageSize, Option<int?> maxImages,
        Option<int?>? maxTest, Option<bool>? randomInit, bool needLabels)
    {
        string spec = r.GetValue(data)!;
        var (train, test) = DatasetLoading.Load(r, spec, r.GetValue(imageSize), r.GetValue(maxImages));
        try
        {
            if (maxTest != null && r.GetValue(maxTest) is int mt && test != null && mt < test.Count)
            {
                var sub = new ImageDataset(test.Images.narrow(0, 0, mt).clone(), test.Labels?[..mt], test.ClassNames, test.Sources?[..mt], test.Name + $"[:{mt}]");
                test.Dispose();
                test = sub;
            }
            if (needLabels)
            {
                if (test == null) throw new UnsupException($"--data {spec}: has no test split (an image folder needs train/ and test/ sub-folders)");
                if (train.Labels == null || test.Labels == null || train.Labels.Any(l => l < 0))
                    throw new UnsupException($"--data {spec}: needs labels in both splits (one sub-folder per class)");
                if (test.Count == 0) throw new UnsupException($"--data {spec}: the test split is empty");
            }
            var encoder = EncoderWeights.Load(r.GetValue(weights)!);
            if (randomInit != null && r.GetValue(randomInit))
            {
                var fresh = encoder.WithRandomWeights(r.GetValue(GlobalOptions.Seed));
                encoder.Dispose();
                encoder = fresh;
            }
            return new Loaded(encoder, train, test);
        }
        catch { train.Dispose(); test?.Dispose(); throw; }
    }

    static ProgressMode Progress(ParseResult r) => r.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto;

    static void Header(ParseResult r, Loaded l)
    {
        if (r.GetValue(GlobalOptions.Quiet)) return;
        Console.WriteLine($"weights  {l.Encoder.Source}: {l.Encoder.Format}, {l.Encoder.Describe()}");
        if (l.Encoder.Ignored.Count > 0)
            Console.WriteLine($"         not used: {l.Encoder.Ignored.Count} entries ({string.Join(", ", l.Encoder.Ignored.Take(4))}{(l.Encoder.Ignored.Count > 4 ? ", ..." : "")})");
        Console.WriteLine($"train    {l.Train}");
        if (l.Test != null) Console.WriteLine($"test     {l.Test}");
    }

    static string Pct(double v) => LinearProbeJob.Pct(v);

    public static Command Knn()
    {
        var weights = WeightsOption(); var data = DataOption(); var imageSize = ImageSizeOption(); var maxImages = MaxImagesOption();
        var maxTest = MaxTestOption(); var batch = BatchOption(); var randomInit = RandomInitOption();
        var k = new Option<int>("--k") { Description = "Neighbours", DefaultValueFactory = _ => 200 };
        var t = new Option<double>("--t") { Description = "Temperature of the exp(sim / t) vote weights", DefaultValueFactory = _ => 0.1 };
        var pixels = new Option<bool>("--pixels") { Description = "Also report the same kNN on raw pixels (the baseline)" };
        var features = new Option<string>("--knn-features")
        {
            Description = "backbone: pooled backbone features (default; what lincls and embed use) or head: the MoCo projection head's L2-normalised output " +
                          "(what the pretraining monitor reads by default; reproduces its logged number for a run folder)",
            DefaultValueFactory = _ => "backbone",
        };
        features.AcceptOnlyFromAmong(KnnFeaturesNames.Names);
        var cmd = new Command("knn",
            "Weighted kNN classification (InstDisc protocol, as MoCo's monitor): L2-normalised features of the training split form the bank, " +
            "each test image takes its k nearest by cosine similarity voting exp(sim / t). Prints top-1 and top-5.\n\n" +
            "Examples:\n  unsup moco knn --weights runs/fmnist --data fashion-mnist --pixels\n  unsup moco knn --weights moco_v2_800ep_pretrain.pth.tar --data folder:~/pets --image-size 224")
        { weights, data, imageSize, maxImages, maxTest, batch, randomInit, k, t, pixels, features };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            using var l = Load(r, weights, data, imageSize, maxImages, maxTest, randomInit, needLabels: true);
            Header(r, l);
            var job = KnnJob.Run(l.Encoder, l.Train, l.Test!, new KnnJobOptions
            {
                K = r.GetValue(k), Temperature = r.GetValue(t), Pixels = r.GetValue(pixels), Features = KnnFeaturesNames.Parse(r.GetValue(features)!), Device = device, FeatureBatch = r.GetValue(batch), Progress = Progress(r),
            });
            var res = job.Encoder;
            Console.WriteLine($"kNN (k {res.K}, t {res.Temperature.ToString(CultureInfo.InvariantCulture)}, {res.Queries} test images, bank {res.Bank})");
            Console.WriteLine($"{"features",-28} {"top-1",8} {"top-5",8}");
            Console.WriteLine($"{(r.GetValue(randomInit) ? "random init" : "encoder") + $" ({r.GetValue(features)}, {job.FeatureDim}-d)",-28} {Pct(res.Top1),8} {Pct(res.Top5),8}");
            if (job.Pixels is KnnResult px)
                Console.WriteLine($"{"raw pixels",-28} {Pct(px.Top1),8} {Pct(px.Top5),8}");
            return 0;
        });
        return cmd;
    }

    public static Command Embed()
    {
        var weights = WeightsOption(); var data = DataOption(); var imageSize = ImageSizeOption(); var maxImages = MaxImagesOption();
        var batch = BatchOption();
        var outFile = new Option<string>("--out") { Description = "Output .npy file [N, D] float32; FILE.csv gets the index (row, source, label, class)", Required = true };
        var head = new Option<bool>("--head") { Description = "The projection head's L2-normalised output instead of the pooled backbone features" };
        var split = new Option<string>("--split") { Description = "train or test", DefaultValueFactory = _ => "train" };
        split.AcceptOnlyFromAmong("train", "test");
        var cmd = new Command("embed",
            "Features of every image of a split, as FILE.npy (rows in dataset order) plus FILE.csv (row, source file or dataset index, label, class).\n\n" +
            "Examples:\n  unsup moco embed --weights runs/fmnist --data fashion-mnist --out fmnist_train.npy\n  unsup moco embed --weights runs/fmnist --data folder:~/photos --image-size 64 --out photos.npy --head")
        { weights, data, imageSize, maxImages, batch, outFile, head, split };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            bool test = r.GetValue(split) == "test";
            using var l = Load(r, weights, data, imageSize, maxImages, null, null, needLabels: false);
            var set = test ? l.Test ?? throw new UnsupException($"--data {r.GetValue(data)}: has no test split") : l.Train;
            if (set.Count == 0) throw new UnsupException($"--data {r.GetValue(data)}: the {r.GetValue(split)} split is empty");
            Header(r, l);
            string path = r.GetValue(outFile)!;
            var (rows, dim) = EmbedJob.Run(l.Encoder, set, test ? "test" : "train", path, r.GetValue(head), device, r.GetValue(batch), Progress(r));
            Console.WriteLine($"wrote {path} [{rows} x {dim}] ({(r.GetValue(head) ? "head, L2-normalised" : "pooled backbone features")}) and {EmbeddingFiles.IndexPath(path)}");
            return 0;
        });
        return cmd;
    }

    public static Command Lincls()
    {
        var weights = WeightsOption(); var data = DataOption(); var imageSize = ImageSizeOption(); var maxImages = MaxImagesOption();
        var maxTest = MaxTestOption(); var batch = BatchOption(); var randomInit = RandomInitOption();
        var cached = new Option<bool>("--cached-features") { Description = "Extract the frozen backbone's features once (centre view) and train on them: orders of magnitude faster on a CPU (the default)" };
        var augmented = new Option<bool>("--augmented") { Description = "Paper mode: every epoch passes fresh random crops (8-100% area) and flips of the training images through the frozen backbone" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 100 };
        var lr = new Option<double>("--lr") { Description = "Learning rate (paper: 30)", DefaultValueFactory = _ => 30 };
        var schedule = new Option<string>("--schedule") { Description = "step (x0.1 at 60% and 80% of the epochs) | cosine", DefaultValueFactory = _ => "step" };
        schedule.AcceptOnlyFromAmong("step", "cosine");
        var milestones = new Option<int[]?>("--milestones") { Description = "Epochs of the x0.1 steps (default: 60 and 80 of 100)", AllowMultipleArgumentsPerToken = true };
        var wd = new Option<double>("--wd") { Description = "Weight decay (paper: 0)", DefaultValueFactory = _ => 0 };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9 };
        var batchSize = new Option<int>("--batch-size") { Description = "Classifier mini-batch", DefaultValueFactory = _ => 256 };
        var normalize = new Option<bool>("--normalize-features") { Description = "L2-normalise the features first (use when lr 30 diverges)" };
        var standardize = new Option<bool>("--standardize-features") { Description = "Scale each feature to zero mean, unit variance over the training split (as scikit-learn's StandardScaler; not the paper's protocol): SGD then reaches what a converged logistic regression does" };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default: runs/lincls-<time>): summary.json, metrics.jsonl, plots/ (accuracy, loss, confusion matrix)" };
        var cmd = new Command("lincls",
            "The linear classification protocol: frozen backbone in eval mode, Linear(features, classes) with N(0, 0.01) weights and zero bias, " +
            "SGD momentum 0.9, lr 30, wd 0, x0.1 at epochs 60 and 80 of 100 (MoCo's main_lincls.py). Top-1/top-5 on the test split every epoch; " +
            "best and last reported, per-class accuracy in summary.json, a confusion-matrix PNG, and a check that the backbone did not change.\n\n" +
            "Examples:\n  unsup moco lincls --weights runs/fmnist --data fashion-mnist\n  unsup moco lincls --weights runs/fmnist --data fashion-mnist --random-init\n" +
            "  unsup moco lincls --weights moco_v2_800ep_pretrain.pth.tar --data folder:~/pets --image-size 224 --normalize-features")
        { weights, data, imageSize, maxImages, maxTest, batch, randomInit, cached, augmented, epochs, lr, schedule, milestones, wd, momentum, batchSize, normalize, standardize, outDir };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            bool augment = r.GetValue(augmented);
            if (augment && r.GetValue(cached)) throw new UnsupException("--cached-features and --augmented exclude each other: choose one mode");
            var options = new LinearProbeOptions
            {
                Epochs = r.GetValue(epochs), Lr = r.GetValue(lr), Schedule = r.GetValue(schedule)!, Milestones = r.GetValue(milestones) is { Length: > 0 } ms ? ms : null,
                WeightDecay = r.GetValue(wd), Momentum = r.GetValue(momentum), BatchSize = r.GetValue(batchSize), NormalizeFeatures = r.GetValue(normalize),
                StandardizeFeatures = r.GetValue(standardize), Seed = r.GetValue(GlobalOptions.Seed),
            }.Validate();
            string runDir = r.GetValue(outDir) ?? RunFolder.DefaultPath($"lincls-{DateTime.Now:yyyyMMdd-HHmmss}");
            Unsup.IO.OutputCheck.ForFolder(runDir, "output folder");   // before features are extracted, not after
            using var l = Load(r, weights, data, imageSize, maxImages, maxTest, randomInit, needLabels: true);
            Header(r, l);
            var job = LinearProbeJob.Run(l.Encoder, l.Train, l.Test!, new LinearProbeJobOptions
            {
                OutDir = runDir,
                Probe = options, Augmented = augment, Device = device, FeatureBatch = r.GetValue(batch), Progress = Progress(r),
                Log = r.GetValue(GlobalOptions.Quiet) ? null : Console.Out,
                Describe = new Dictionary<string, object?>
                {
                    ["weights"] = Path.GetFullPath(r.GetValue(weights)!), ["randomInit"] = r.GetValue(randomInit), ["data"] = r.GetValue(data),
                    ["maxImages"] = r.GetValue(maxImages), ["maxTestImages"] = r.GetValue(maxTest),
                },
            });
            var result = job.Result;
            var perClass = result.PerClassAccuracy;
            Console.WriteLine();
            Console.WriteLine($"{"",-12} {"top-1",8} {"top-5",8}");
            Console.WriteLine($"{$"best (ep {result.Best.Epoch})",-12} {Pct(result.Best.Top1),8} {Pct(result.History.Max(e => e.Top5)),8}");
            Console.WriteLine($"{"last",-12} {Pct(result.Last.Top1),8} {Pct(result.Last.Top5),8}");
            Console.WriteLine("per class:   " + string.Join("  ", l.Train.ClassNames.Select((n, i) => $"{n} {Pct(perClass[i])}")));
            Console.WriteLine($"backbone unchanged: yes ({job.TensorsCompared} tensors compared). Output: {job.RunDir}");
            return 0;
        });
        return cmd;
    }

    public static Command Neighbors()
    {
        var weights = WeightsOption(); var data = DataOption(); var imageSize = ImageSizeOption(); var maxImages = MaxImagesOption();
        var index = new Option<string>("--index") { Description = "Embedding file made by `unsup moco embed` (FILE.npy with FILE.csv beside it)", Required = true };
        var split = new Option<string>("--split") { Description = "The split the index was made from: train or test", DefaultValueFactory = _ => "train" };
        split.AcceptOnlyFromAmong("train", "test");
        var query = new Option<string?>("--query") { Description = "Query image file (resized to the dataset's image size)" };
        var queryRow = new Option<int?>("--query-row") { Description = "Or: row N of the dataset split as the query" };
        var k = new Option<int>("--k") { Description = "Neighbours to show", DefaultValueFactory = _ => 8 };
        var png = new Option<string?>("--out") { Description = "PNG strip: the query, then its neighbours with their similarity" };
        var cmd = new Command("neighbors",
            "Nearest images of a query by cosine similarity of the encoder's features, from an index made by `unsup moco embed` with the same --weights, --data, --split and --max-images.\n\n" +
            "Example:\n  unsup moco embed --weights runs/fmnist --data fashion-mnist --out fm.npy\n  unsup moco neighbors --weights runs/fmnist --data fashion-mnist --index fm.npy --query-row 0 --out nn.png")
        { weights, data, imageSize, maxImages, index, split, query, queryRow, k, png };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            if ((r.GetValue(query) == null) == (r.GetValue(queryRow) == null)) throw new UnsupException("give either --query FILE or --query-row N");
            using var l = Load(r, weights, data, imageSize, maxImages, null, null, needLabels: false);
            var set = r.GetValue(split) == "test" ? l.Test ?? throw new UnsupException($"--data {r.GetValue(data)}: has no test split") : l.Train;
            var job = NeighborsJob.Run(l.Encoder, set, new NeighborsJobOptions
            {
                IndexPath = r.GetValue(index)!, Split = r.GetValue(split)!, QueryRow = r.GetValue(queryRow), QueryFile = r.GetValue(query),
                K = r.GetValue(k), OutPng = r.GetValue(png), Device = device,
            });
            Console.WriteLine($"nearest to {job.QueryName} by cosine similarity of the {(job.Head ? "head output" : "backbone features")}:");
            Console.WriteLine($"{"rank",4} {"similarity",10} {"row",7}  source  class");
            for (int i = 0; i < job.Neighbors.Count; i++)
            {
                var h = job.Neighbors[i];
                Console.WriteLine($"{i + 1,4} {h.Similarity,10:F4} {h.Row,7}  {h.Source}  {h.Class}");
            }
            if (r.GetValue(png) is string outPng) Console.WriteLine($"wrote {outPng}");
            return 0;
        });
        return cmd;
    }

    public static Command Export()
    {
        var weights = WeightsOption();
        var outFile = new Option<string>("--out") { Description = "Output .pth (PyTorch zip format, torchvision ResNet keys, no fc)", Required = true };
        var cmd = new Command("export",
            "Writes the encoder's backbone as a torchvision ResNet state_dict that PyTorch loads with load_state_dict(strict=True) after m.fc = Identity().\n\n" +
            "Example:\n  unsup moco export --weights runs/fmnist --out fmnist_backbone.pth")
        { weights, outFile };
        cmd.SetAction(r =>
        {
            using var enc = EncoderWeights.Load(r.GetValue(weights)!);
            string path = r.GetValue(outFile)!;
            EncoderWeights.ExportTorchvision(enc.Backbone, path);
            Console.WriteLine($"wrote {path}: the backbone (no fc) of {enc.Describe()}. In Python:\n{EncoderWeights.PythonSnippet(enc.Options, Path.GetFullPath(path))}");
            return 0;
        });
        return cmd;
    }
}
