using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Unsup.Moco.Augment;
using static TorchSharp.torch;

namespace Unsup.Moco.Training;

/// <summary>
/// Runs MoCo pre-training epochs over uint8 images: per step, two augmented views on the device, the MoCo step,
/// backward, SGD. Owns the model, optimiser and augmentation; the caller owns run folders, checkpoints and display
/// (pass a progress callback). The last partial batch of an epoch is dropped (as in the official loaders).
/// </summary>
public sealed class MocoTrainer : IDisposable
{
    public MocoConfig Config { get; }
    public Device Device { get; }
    public MocoModel Model { get; }
    public SGD Optimizer { get; }
    public MocoAugmentation Augmentation { get; }
    public LearningRateSchedule Schedule { get; }
    public Normalize Normalize { get; }
    /// <summary>Epochs completed; set it when resuming from a checkpoint.</summary>
    public int Epoch { get; set; }
    /// <summary>Generator for augmentation and batch order (null = torch's default generator, seeded by TorchRuntime.Seed).</summary>
    public Generator? Generator { get; set; }

    /// <summary>Seeds torch with <see cref="MocoConfig.Seed"/> and builds model, optimiser and augmentation (load a checkpoint afterwards to resume).</summary>
    public MocoTrainer(MocoConfig config, Device device, Normalize normalize)
    {
        Config = config.Validate();
        TorchRuntime.Seed(config.Seed);
        Device = device;
        Normalize = normalize;
        Model = config.BuildModel();
        Model.to(device);
        Model.train();
        Augmentation = config.BuildAugmentation(normalize);
        Schedule = config.BuildSchedule();
        Optimizer = MocoOptimizer.Create(Model.TrainableParameters(), Schedule.At(0), config.SgdMomentum, config.WeightDecay,
            config.ExcludeBnBiasFromWeightDecay);
    }

    /// <summary>
    /// One optimisation step on a uint8 batch [B, C, H, W] (any device). Returns (loss, contrastive top-1).
    /// <paramref name="checkLoss"/> sees the loss before backward (e.g. the run's NaN guard); without it a
    /// non-finite loss throws an <see cref="UnsupException"/>.
    /// </summary>
    public (double loss, double top1) Step(Tensor batch, Action<Tensor>? checkLoss = null)
    {
        using var scope = NewDisposeScope();
        Tensor v1, v2;
        using (var aug = NewDisposeScope())
        {
            var x = batch.to(Device);
            (v1, v2) = Augmentation.TwoViews(x, Generator);
            v1.MoveToOuterDisposeScope(); v2.MoveToOuterDisposeScope();
        }
        Optimizer.zero_grad();
        using var output = Model.forward(v1, v2);
        if (checkLoss is not null) checkLoss(output.Loss);
        double loss = output.Loss.item<float>();
        if (!double.IsFinite(loss))
            throw new UnsupException($"MoCo loss became {loss} at epoch {Epoch + 1}: lower --lr (now {Config.Lr}) or check the data for constant images");
        output.Loss.backward();
        Optimizer.step();
        return (loss, output.Top1.item<float>());
    }

    /// <summary>Full batches per epoch (the last partial batch is dropped).</summary>
    public int StepsPerEpoch(long imageCount) => (int)(imageCount / Config.BatchSize);

    /// <summary>A random visiting order for one epoch (save it with a checkpoint to resume mid-epoch).</summary>
    public Tensor NewEpochOrder(long imageCount) => randperm(imageCount, generator: Generator);

    /// <summary>Sets the learning rate for <paramref name="epoch"/> (per epoch, as the official code) and train mode; returns the rate.</summary>
    public double StartEpoch(int epoch)
    {
        double lr = Schedule.At(epoch);
        MocoOptimizer.SetLearningRate(Optimizer, lr);
        Model.train();
        return lr;
    }

    /// <summary>Step <paramref name="stepInEpoch"/> of an epoch: the batch is order[step·B .. (step+1)·B) of <paramref name="images"/>.</summary>
    public (double loss, double top1) Step(Tensor images, Tensor order, int stepInEpoch, Action<Tensor>? checkLoss = null)
    {
        using var scope = NewDisposeScope();
        var idx = order.narrow(0, (long)stepInEpoch * Config.BatchSize, Config.BatchSize);
        return Step(images.index_select(0, idx), checkLoss);
    }

    /// <summary>Trains one epoch (the next one) over all images in a random order.</summary>
    public MocoEpochResult TrainEpoch(Tensor images, Action<MocoProgress>? progress = null, CancellationToken cancel = default)
    {
        CheckImages(images);
        int steps = StepsPerEpoch(images.shape[0]);
        double lr = StartEpoch(Epoch);
        using var order = NewEpochOrder(images.shape[0]);
        var clock = Stopwatch.StartNew();
        double lossSum = 0, top1Sum = 0;
        int batch = Config.BatchSize;
        for (int s = 0; s < steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            var (loss, top1) = Step(images, order, s);
            lossSum += loss; top1Sum += top1;
            progress?.Invoke(new MocoProgress(Epoch, s + 1, steps, loss, top1, lr, (double)(s + 1) * batch / clock.Elapsed.TotalSeconds));
        }
        var result = new MocoEpochResult(Epoch, lossSum / steps, top1Sum / steps, lr, (double)steps * batch / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
        Epoch++;
        return result;
    }

    /// <summary>Rejects images the model cannot train on, naming the problem.</summary>
    public void CheckImages(Tensor images)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new UnsupException($"MoCo training expects uint8 images [N, C, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]");
        if (images.shape[1] != Config.InChannels)
            throw new UnsupException($"the data has {images.shape[1]} channels but the model was built for {Config.InChannels}");
        if (StepsPerEpoch(images.shape[0]) == 0)
            throw new UnsupException($"--batch-size {Config.BatchSize} is larger than the dataset ({images.shape[0]} images)");
    }

    /// <summary>kNN top-1 of the query backbone's pooled features (bank: training images, queries: test images).</summary>
    public double KnnAccuracy(MocoData data, int? maxBank = null, int batchSize = 512)
    {
        if (!data.HasLabels) throw new UnsupException("the kNN monitor needs labelled training and test images");
        var bankImages = data.TrainImages; var bankLabels = data.TrainLabels!;
        if (maxBank is int m && m < bankImages.shape[0])
        {
            bankImages = bankImages.narrow(0, 0, m); bankLabels = bankLabels.narrow(0, 0, m);
        }
        return FeatureExtractor.KnnAccuracy(Model.EncoderQ, bankImages, bankLabels, data.TestImages!, data.TestLabels!,
            data.NumClasses, Normalize, Device, Config.KnnK, Config.KnnTemperature, batchSize);
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
    }
}
