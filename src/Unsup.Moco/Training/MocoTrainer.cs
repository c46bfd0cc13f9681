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

    /// <summary>One optimisation step on a uint8 batch [B, C, H, W] (any device). Returns (loss, contrastive top-1).</summary>
    public (double loss, double top1) Step(Tensor batch)
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
        double loss = output.Loss.item<float>();
        if (!double.IsFinite(loss))
            throw new UnsupException($"MoCo loss became {loss} at epoch {Epoch + 1}: lower --lr (now {Config.Lr}) or check the data for constant images");
        output.Loss.backward();
        Optimizer.step();
        return (loss, output.Top1.item<float>());
    }

    /// <summary>Trains one epoch (the next one) over all images in a random order.</summary>
    public MocoEpochResult TrainEpoch(Tensor images, Action<MocoProgress>? progress = null, CancellationToken cancel = default)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new UnsupException($"MoCo training expects uint8 images [N, C, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]");
        if (images.shape[1] != Config.InChannels)
            throw new UnsupException($"the data has {images.shape[1]} channels but the model was built for {Config.InChannels}");
        int batch = Config.BatchSize;
        long n = images.shape[0];
        int steps = (int)(n / batch);
        if (steps == 0) throw new UnsupException($"--batch-size {batch} is larger than the dataset ({n} images)");

        double lr = Schedule.At(Epoch);   // per epoch, as the official code
        MocoOptimizer.SetLearningRate(Optimizer, lr);
        Model.train();
        using var order = randperm(n, generator: Generator);
        var clock = Stopwatch.StartNew();
        double lossSum = 0, top1Sum = 0;
        for (int s = 0; s < steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            double loss, top1;
            using (var scope = NewDisposeScope())
            {
                var idx = order.narrow(0, (long)s * batch, batch);
                (loss, top1) = Step(images.index_select(0, idx));
            }
            lossSum += loss; top1Sum += top1;
            progress?.Invoke(new MocoProgress(Epoch, s + 1, steps, loss, top1, lr, (double)(s + 1) * batch / clock.Elapsed.TotalSeconds));
        }
        var result = new MocoEpochResult(Epoch, lossSum / steps, top1Sum / steps, lr, (double)steps * batch / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
        Epoch++;
        return result;
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
