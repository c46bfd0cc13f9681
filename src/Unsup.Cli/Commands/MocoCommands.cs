using System.CommandLine;
using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Training;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Cli.Commands;

/// <summary>`unsup moco ...`: Momentum Contrast pretraining and the uses of its features.</summary>
public static class MocoCommands
{
    public static Command Create()
    {
        var moco = new Command("moco", "MoCo: self-supervised contrastive pretraining of image encoders (He et al., CVPR 2020; v2 improvements)");
        moco.Subcommands.Add(Pretrain());
        moco.Subcommands.Add(MocoUseCommands.Knn());
        moco.Subcommands.Add(MocoUseCommands.Embed());
        moco.Subcommands.Add(MocoUseCommands.Lincls());
        moco.Subcommands.Add(MocoUseCommands.Neighbors());
        moco.Subcommands.Add(MocoUseCommands.Export());
        return moco;
    }

    static Command Pretrain()
    {
        var data = new Option<string>("--data") { Description = "Training images: " + Unsup.Data.DataSpec.AcceptedForms, DefaultValueFactory = _ => "fashion-mnist" };
        var preset = new Option<string?>("--preset") { Description = "Defaults: v1 (MoCo), v2 (MoCo v2), cifar (official CIFAR-10 demo), small (Unsup's recipe for small images: CIFAR demo + MLP head, T 0.2, one crop order, batch 128); default small for images of 64 px or less, else v2" };
        preset.AcceptOnlyFromAmong(MocoConfig.Presets);
        var arch = new Option<string?>("--arch") { Description = "resnet18 | resnet34 | resnet50 (torchvision layout)" };
        var width = new Option<int?>("--width") { Description = $"Base channel width (64 = torchvision; default {MocoDefaults.CpuWidth} with resnet18 when no GPU is used)" };
        var cifarStem = new Option<bool?>("--cifar-stem") { Description = $"3x3 stride-1 first conv and no max-pool (default: on for images of {MocoDefaults.SmallImageSide} px or less)" };
        var stemStride = new Option<int?>("--stem-stride") { Description = $"Stride of the CIFAR stem's 3x3 conv: 1 (the demo's) or 2 (a quarter of the compute per image; default {MocoDefaults.CpuStemStride} when no GPU is used, else 1)" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (preset: 200)" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (preset: 256; cifar 512)" };
        var lr = new Option<double?>("--lr") { Description = "Base learning rate per 256 images, scaled with the batch size (preset: 0.03)" };
        var schedule = new Option<string?>("--schedule") { Description = "cosine | step (x0.1 at --milestones)" };
        var warmup = new Option<double?>("--warmup-epochs") { Description = "Linear warm-up epochs: the rate rises every step and reaches the base rate at the last warm-up step" };
        var wd = new Option<double?>("--wd") { Description = "Weight decay (preset: 1e-4; cifar 5e-4)" };
        var noBnWd = new Option<bool>("--no-bn-bias-decay") { Description = "Exclude BN parameters and biases from weight decay" };
        var k = new Option<int?>("--moco-k") { Description = "Queue size K (preset: 65536; cifar 4096)" };
        var m = new Option<double?>("--moco-m") { Description = "Key-encoder momentum (preset: 0.999; cifar 0.99)" };
        var t = new Option<double?>("--moco-t") { Description = "Softmax temperature (v1 0.07, v2 0.2, cifar 0.1)" };
        var mlp = new Option<bool?>("--mlp") { Description = "MLP projection head (v2) instead of a linear one (v1)" };
        var symmetric = new Option<bool?>("--symmetric") { Description = "Symmetric loss (both crop orders)" };
        var splits = new Option<int?>("--bn-splits") { Description = "Shuffle-BN sub-batches on one device (preset: 8)" };
        var aug = new Option<string?>("--aug") { Description = "Augmentation preset: v1 | v2 | cifar" };
        var crop = new Option<int?>("--crop-size") { Description = "Crop size (default: the smaller of the preset's and the image size)" };
        var cropMin = new Option<double?>("--crop-min-scale") { Description = "Smallest crop area fraction (v1/v2: 0.2; cifar: 0.08 as torchvision's default)" };
        var knnEvery = new Option<int?>("--knn-every") { Description = "kNN monitor every N epochs when labels exist (0 = off)" };
        var knnFeatures = new Option<string?>("--knn-features") { Description = "Features the kNN monitor reads: head (default; the official CIFAR-10 demo's: the query encoder's L2-normalised 128-d output) or backbone (pooled features, as moco knn/lincls use)" };
        knnFeatures.AcceptOnlyFromAmong(Unsup.Moco.Evaluation.KnnFeaturesNames.Names);
        var knnBank = new Option<int?>("--knn-bank") { Description = "At most this many training images in the kNN bank (default: all)" };
        var imageSize = new Option<int?>("--image-size") { Description = "Image folders: scale the shorter side to S and centre-crop SxS" };
        var maxImages = new Option<int?>("--max-images") { Description = "Train on the first N training images only (quick runs)" };
        var outDir = new Option<string?>("--out") { Description = "Run folder (default: runs/moco-<data>-<time>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its last checkpoint; its config.json (data, model, schedule) is used and training options given here are ignored" };
        var preview = new Option<string?>("--preview") { Description = "Only write a PNG grid of augmented pairs to this file and exit" };
        var stopAfter = new Option<int?>("--stop-after") { Description = "Stop after N epochs in this invocation (resume later)" };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop after this many minutes of training (checkpoint, kNN; resume later)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the resolved configuration and the estimated time per epoch (a few timed steps), then exit without writing anything" };
        var ckEvery = new Option<long?>("--checkpoint-every") { Description = "Checkpoint every N steps (default: every epoch end)" };
        var keep = new Option<int?>("--keep-checkpoints") { Description = "Checkpoints kept in the run's checkpoints/ folder, at least 2 (default 3); 0 keeps every one, to evaluate the encoder at earlier epochs (moco knn/lincls --weights RUN/checkpoints/step-N.ckpt)" };

        var cmd = new Command("pretrain",
            "Self-supervised MoCo pretraining. Writes a run folder with config.json, metrics.jsonl, a checkpoint every epoch " +
            "(both encoders, queue, optimizer, RNG: --resume continues the same run) and plots of loss, contrastive top-1 and kNN top-1.\n\n" +
            "Examples:\n" +
            "  unsup moco pretrain --data fashion-mnist --preset cifar --arch resnet18 --width 16 --epochs 20 --out runs/fmnist\n" +
            "  unsup moco pretrain --data cifar10:~/data/cifar-10-batches-bin --preset cifar --epochs 200\n" +
            "  unsup moco pretrain --data folder:~/photos --preset v2 --image-size 96 --arch resnet18\n" +
            "  unsup moco pretrain --resume runs/fmnist\n" +
            "  unsup moco pretrain --data fashion-mnist --preset v2 --preview aug.png")
        {
            data, preset, arch, width, cifarStem, stemStride, epochs, batch, lr, schedule, warmup, wd, noBnWd, k, m, t, mlp, symmetric, splits,
            aug, crop, cropMin, knnEvery, knnFeatures, knnBank, imageSize, maxImages, outDir, resume, preview, stopAfter, timeLimit, dryRun, ckEvery, keep,
        };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            string? resumeDir = r.GetValue(resume);
            if (resumeDir != null && !File.Exists(Path.Combine(resumeDir, RunFolder.ConfigFile)))
                throw UnsupException.ForFile(resumeDir, "not a MoCo run folder (no config.json): nothing to resume");
            MocoConfig? saved = resumeDir != null ? RunFolder.Open(resumeDir).ReadConfig<MocoConfig>() : null;
            if (resumeDir != null)
                ResumeCheck.WarnIgnored(r, resumeDir, cmd, resume, knnBank, preview, stopAfter, timeLimit, dryRun, ckEvery);
            if (r.GetValue(preview) == null && !r.GetValue(dryRun)) Unsup.IO.OutputCheck.ForFolder(resumeDir ?? r.GetValue(outDir) ?? "runs", "run folder");   // before the data loads
            string spec = saved?.DataSpec ?? r.GetValue(data)!;
            var (train, test) = DatasetLoading.Load(r, spec, saved?.ImageSize ?? r.GetValue(imageSize), saved?.MaxImages ?? r.GetValue(maxImages));
            using var _train = train; using var _test = test;

            int side = (int)Math.Min(train.Height, train.Width);
            var choice = saved == null ? MocoDefaults.Choose(r.GetValue(preset), side, train.Count, device.type == TorchSharp.DeviceType.CUDA) : null;
            var c = saved ?? choice!.Config;
            if (saved == null) c = c with
            {
                Arch = r.GetValue(arch) ?? c.Arch, Width = r.GetValue(width) ?? c.Width, CifarStem = r.GetValue(cifarStem) ?? c.CifarStem,
                // a default stride-2 stem goes with the CIFAR stem: turning that off (--cifar-stem false) takes the stride with it
                StemStride = r.GetValue(stemStride) ?? ((r.GetValue(cifarStem) ?? c.CifarStem) ? c.StemStride : 1),
                Epochs = r.GetValue(epochs) ?? c.Epochs, BatchSize = r.GetValue(batch) ?? c.BatchSize, BaseLr = r.GetValue(lr) ?? c.BaseLr,
                Schedule = r.GetValue(schedule) ?? c.Schedule, WarmupEpochs = r.GetValue(warmup) ?? c.WarmupEpochs,
                WeightDecay = r.GetValue(wd) ?? c.WeightDecay, ExcludeBnBiasFromWeightDecay = r.GetValue(noBnWd),
                QueueSize = r.GetValue(k) ?? c.QueueSize, KeyMomentum = r.GetValue(m) ?? c.KeyMomentum, Temperature = r.GetValue(t) ?? c.Temperature,
                Mlp = r.GetValue(mlp) ?? c.Mlp, Symmetric = r.GetValue(symmetric) ?? c.Symmetric, BnSplits = r.GetValue(splits) ?? c.BnSplits,
                Augmentation = r.GetValue(aug) ?? c.Augmentation, CropSize = r.GetValue(crop) ?? Math.Min(c.CropSize, Math.Min(train.Height, train.Width)),
                CropScaleMin = r.GetValue(cropMin) ?? c.CropScaleMin, KnnEvery = r.GetValue(knnEvery) ?? c.KnnEvery,
                KnnFeatures = r.GetValue(knnFeatures) ?? c.KnnFeatures, KeepCheckpoints = r.GetValue(keep) ?? c.KeepCheckpoints,
                InChannels = train.Channels, Seed = r.GetValue(GlobalOptions.Seed), DataSpec = spec,
                MaxImages = r.GetValue(maxImages), ImageSize = r.GetValue(imageSize),
            };
            c.Validate();

            if (r.GetValue(preview) is string png)
            {
                var augmentation = c.BuildAugmentation(Normalize.ForChannels(train.Channels));
                AugmentationPreview.WritePng(png, train.Images.narrow(0, 0, Math.Min(8, train.Count)), augmentation);
                Console.WriteLine($"wrote {png}: rows of (original, view 1, view 2) with {c.Augmentation} augmentation at {c.CropSize}px");
                return 0;
            }

            string run = resumeDir ?? r.GetValue(outDir) ?? RunFolder.DefaultPath($"moco-{Slug(spec)}-{DateTime.Now:yyyyMMdd-HHmmss}");
            bool dry = r.GetValue(dryRun);
            if (choice != null && (dry || !r.GetValue(GlobalOptions.Quiet)))
            {
                Console.WriteLine($"defaults for {train}: {string.Join("; ", choice.Reasons)} (options given explicitly win)");
                Console.WriteLine($"resolved: preset {c.Preset}, {c.Arch} width {c.Width}, {c.Backbone.StemName} stem, {c.InChannels}-channel input, " +
                                  $"{(c.Mlp ? "MLP" : "linear")} head, crop {c.CropSize} px ({c.Augmentation} augmentation), K {c.QueueSize}, m {c.KeyMomentum}, T {c.Temperature}, " +
                                  $"{(c.Symmetric ? "symmetric" : "asymmetric")} loss, batch {c.BatchSize} in {c.BnSplits} BN splits, lr {c.Lr:G3} {c.Schedule}, wd {c.WeightDecay}, " +
                                  $"{c.Epochs} epochs, kNN monitor on {c.KnnFeatures} features");
                var estimate = EpochTimeEstimate.Measure(c, train.Images, device);
                Console.WriteLine($"estimate: {estimate.Describe()}; {c.Epochs} epochs ~ {estimate.Epoch.TotalHours * c.Epochs:F1} h");
            }
            if (dry)
            {
                Console.WriteLine($"dry run: nothing written (the run folder would be {Path.GetFullPath(run)})");
                return 0;
            }
            Console.WriteLine($"MoCo pretraining on {train} ({c.Arch} width {c.Width}, K {c.QueueSize}, m {c.KeyMomentum}, T {c.Temperature}, " +
                              $"batch {c.BatchSize}, lr {c.Lr:G3} {c.Schedule}, {c.Epochs} epochs) -> {Path.GetFullPath(run)}");
            var result = MocoPretraining.Run(DatasetLoading.ToMocoData(train, test), new MocoPretrainOptions
            {
                RunDir = run, Config = c, Resume = resumeDir != null, Device = device,
                Progress = r.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto,
                KnnBank = r.GetValue(knnBank), StopAfterEpochs = r.GetValue(stopAfter),
                TimeLimit = r.GetValue(timeLimit) is double minutes ? TimeSpan.FromMinutes(minutes) : null,
                CheckpointEvery = r.GetValue(ckEvery),
            });
            Console.WriteLine($"done: {result.Epochs:0.##} epochs, last epoch loss {result.LastLoss:F4}" +
                              (result.KnnLast is double kl ? $", kNN top-1 {kl:P2} (random init {result.KnnInit:P2})" : "") +
                              $"; run folder {Path.GetFullPath(result.RunDir)}");
            return 0;
        });
        return cmd;
    }


    static string Slug(string spec) => new string(spec.Split(':')[0].Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());
}
