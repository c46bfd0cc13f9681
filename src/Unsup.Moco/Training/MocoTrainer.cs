using TorchSharp;
using TorchSharp.Modules;
using Unsup.Distributed;
using Unsup.Moco.Augment;
using Unsup.Moco.Evaluation;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Training;

/// <summary>What one optimizer step reports: InfoNCE loss, contrastive top-1 (positive ranked first of K+1) and the rate it ran at.</summary>
public readonly record struct MocoStepResult(double Loss, double Top1, double Lr);

/// <summary>
/// The maths of MoCo pretraining on a set of uint8 images, one optimizer step at a time: per step, two augmented
/// views on the device, the MoCo forward, the NaN guard, backward, SGD at the schedule's rate for that step. Owns the
/// model, optimiser, augmentation and schedule; <see cref="MocoPretraining"/> owns run folders, checkpoints and display.
/// Everything about position derives from the 0-based global step: the epoch (<see cref="EpochOf"/>), the batch
/// within the epoch's order and the learning rate. The last partial batch of an epoch is dropped (as in the official loaders).
/// </summary>
public sealed class MocoTrainer : IDisposable
{
    public MocoConfig Config { get; }
    public Device Device { get; }
    public MocoModel Model { get; }
    public SGD Optimizer { get; }
    public MocoAugmentation Augmentation { get; }
    public LrSchedule Schedule { get; }
    public Normalize Normalize { get; }
    /// <summary>Training images per epoch (the schedule's length depends on it).</summary>
    public long ImageCount { get; }
    /// <summary>Full batches per epoch.</summary>
    public int StepsPerEpoch { get; }
    public long TotalSteps => (long)Config.Epochs * StepsPerEpoch;
    /// <summary>Generator for augmentation and batch order (null = torch's default generator, seeded by TorchRuntime.Seed).</summary>
    public Generator? Generator { get; set; }
    /// <summary>Ranks training together: each takes its contiguous share of every global batch; gradients are averaged.</summary>
    public Communicator Comm { get; }
    readonly GradientAverager averager;

    /// <summary>Seeds torch with <see cref="MocoConfig.Seed"/> and builds model, optimiser, augmentation and schedule (load a checkpoint afterwards to resume).</summary>
    /// <param name="imageCount">Training images per epoch.</param>
    /// <param name="comm">Ranks training together (default <see cref="Communicator.World"/>); config.BatchSize is the global batch
    /// and config.BnSplits the global number of BN groups, so every rank count trains the same model.</param>
    public MocoTrainer(MocoConfig config, Device device, Normalize normalize, long imageCount, Communicator? comm = null)
    {
        Config = config.Validate();
        Comm = comm ?? Communicator.World;
        int ranks = Comm.Size;
        if (config.BatchSize % ranks != 0)
            throw new UnsupException($"--batch-size {config.BatchSize} (the global batch) must be a multiple of the {ranks} processes");
        if (config.BnSplits % ranks != 0 && config.BnSplits > 1)
            throw new UnsupException($"--bn-splits {config.BnSplits} (BN groups over the global batch) must be a multiple of the {ranks} processes");
        StepsPerEpoch = (int)(imageCount / config.BatchSize);
        if (StepsPerEpoch == 0) throw new UnsupException($"--batch-size {config.BatchSize} is larger than the dataset ({imageCount} images)");
        ImageCount = imageCount;
        TorchRuntime.Seed(config.Seed);
        Device = device;
        Normalize = normalize;
        // each rank holds 1/N of the BN groups, so the groups (and the statistics they see) match one process's
        Model = (config with { BnSplits = Math.Max(1, config.BnSplits / ranks) }).BuildModel();
        Model.Comm = Comm;
        Model.to(device);
        Model.train();
        Augmentation = config.BuildAugmentation(normalize);
        Schedule = config.BuildSchedule(StepsPerEpoch);
        Optimizer = MocoOptimizer.Create(Model.TrainableParameters(), config.Lr, config.SgdMomentum, config.WeightDecay,
            config.ExcludeBnBiasFromWeightDecay);
        averager = new GradientAverager(Comm, Model.TrainableParameters().Select(p => p.param));
    }

    /// <summary>Floats each rank sends through allreduce per step (for the communication estimate).</summary>
    public long GradientElements => averager.Elements;

    /// <summary>The 0-based epoch that 0-based step <paramref name="step"/> belongs to.</summary>
    public int EpochOf(long step) => (int)(step / StepsPerEpoch);

    /// <summary>A random visiting order for one epoch (save it with a checkpoint to resume mid-epoch).</summary>
    public Tensor NewEpochOrder() => randperm(ImageCount, generator: Generator);

    /// <summary>
    /// Optimizer step <paramref name="step"/> (0-based, counted over the whole run): the batch is
    /// order[i·B .. (i+1)·B) of <paramref name="images"/> with i = step mod <see cref="StepsPerEpoch"/>, at the
    /// schedule's rate for the step. <paramref name="guard"/> (the run's, so its message names the last checkpoint)
    /// stops a non-finite loss or gradient before it reaches the weights; without one a run-less guard does.
    /// </summary>
    public MocoStepResult Step(Tensor images, Tensor order, long step, NanGuard? guard = null)
    {
        guard ??= new NanGuard(() => null, null);
        using var scope = NewDisposeScope();
        double lr = Schedule.Apply(Optimizer, step);
        Model.train();
        Tensor v1, v2;
        using (var aug = NewDisposeScope())
        {
            var idx = order.narrow(0, step % StepsPerEpoch * Config.BatchSize, Config.BatchSize);
            var x = images.index_select(0, idx).to(Device);
            (v1, v2) = Augmentation.TwoViews(x, Generator);
            // Every rank augments the whole global batch and keeps its share: the random stream, hence the training
            // data, is then the same for any number of ranks (a cheap batched op next to the encoder passes).
            v1 = Comm.ShareOfRows(v1); v2 = Comm.ShareOfRows(v2);
            v1.MoveToOuterDisposeScope(); v2.MoveToOuterDisposeScope();
        }
        Optimizer.zero_grad();
        using var output = Model.forward(v1, v2);
        guard.CheckLoss(step + 1, output.Loss);
        output.Loss.backward();
        averager.Average();
        guard.CheckGradients(step + 1, Model);
        Optimizer.step();
        var m = Comm.AverageScalars(output.Loss.item<float>(), output.Top1.item<float>());
        return new MocoStepResult(m[0], m[1], lr);
    }

    /// <summary>Rejects images the model cannot train on, naming the problem.</summary>
    public void CheckImages(Tensor images)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new UnsupException($"MoCo training expects uint8 images [N, C, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]");
        if (images.shape[1] != Config.InChannels)
            throw new UnsupException($"the data has {images.shape[1]} channels but the model was built for {Config.InChannels}");
        if (images.shape[0] != ImageCount)
            throw new UnsupException($"the trainer was built for {ImageCount} images but got {images.shape[0]}");
    }

    /// <summary>
    /// The kNN monitor: <see cref="KnnEvaluation"/> of the query encoder's features of kind <see cref="MocoConfig.KnnFeatures"/>
    /// (bank: the first <paramref name="maxBank"/> training images, queries: the test images), the number
    /// `moco knn --knn-features` of the same kind prints for the same weights.
    /// </summary>
    public KnnResult Knn(MocoData data, int? maxBank = null, int batchSize = 256)
    {
        if (!data.HasLabels) throw new UnsupException("the kNN monitor needs labelled training and test images");
        var bankImages = data.TrainImages; var bankLabels = data.TrainLabels!;
        if (maxBank is int m && m < bankImages.shape[0])
        {
            bankImages = bankImages.narrow(0, 0, m); bankLabels = bankLabels.narrow(0, 0, m);
        }
        var extractor = new EncoderFeatures(Model.EncoderQ, Model.EncoderQ.Head, Normalize, Device, batchSize);
        return KnnEvaluation.Evaluate(extractor, bankImages, bankLabels, data.TestImages!, data.TestLabels!, data.NumClasses,
            Config.KnnK, Config.KnnTemperature, KnnFeaturesNames.Parse(Config.KnnFeatures));
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
    }
}
