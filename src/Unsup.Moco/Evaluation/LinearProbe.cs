using TorchSharp;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>The linear protocol's hyper-parameters; defaults are the MoCo paper's (main_lincls.py).</summary>
public sealed record LinearProbeOptions
{
    public int Epochs { get; init; } = 100;
    public double Lr { get; init; } = 30;
    /// <summary>"step" (×0.1 at <see cref="Milestones"/>) or "cosine".</summary>
    public string Schedule { get; init; } = "step";
    /// <summary>Step epochs; null = 60% and 80% of <see cref="Epochs"/> (the paper's 60 and 80 of 100).</summary>
    public int[]? Milestones { get; init; }
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; }
    public int BatchSize { get; init; } = 256;
    /// <summary>L2-normalise every feature vector before the classifier (keeps lr 30 stable on large-norm features).</summary>
    public bool NormalizeFeatures { get; init; }
    /// <summary>
    /// Scale every feature dimension to zero mean and unit variance over the training split (test features with the
    /// training statistics), as scikit-learn's StandardScaler or the batch norm without affine parameters that MAE
    /// puts before its linear probe. Not the MoCo paper's protocol; it makes the problem well conditioned, so SGD ends
    /// where a converged logistic regression does.
    /// </summary>
    public bool StandardizeFeatures { get; init; }
    public long Seed { get; init; }

    public int[] EffectiveMilestones => Milestones ?? [(int)Math.Round(0.6 * Epochs), (int)Math.Round(0.8 * Epochs)];

    public LinearProbeOptions Validate()
    {
        if (Epochs < 1) throw new UnsupException($"--epochs {Epochs}: must be positive");
        if (!(Lr > 0)) throw new UnsupException($"--lr {Lr}: must be positive");
        if (!LrSchedule.Kinds.Contains(Schedule)) throw new UnsupException($"--schedule {Schedule}: expected {string.Join(", ", LrSchedule.Kinds)}");
        if (BatchSize < 1) throw new UnsupException($"--batch-size {BatchSize}: must be positive");
        return this;
    }
}

public sealed record LinearProbeEpoch(int Epoch, double Lr, double Loss, double Top1, double Top5);

/// <summary>History, best and last accuracies, and the last epoch's confusion matrix (rows = true class, columns = predicted).</summary>
public sealed record LinearProbeResult(IReadOnlyList<LinearProbeEpoch> History, long[,] Confusion)
{
    public LinearProbeEpoch Last => History[^1];
    public LinearProbeEpoch Best => History.MaxBy(e => e.Top1)!;

    /// <summary>Recall of each class on the test split (NaN for a class with no test images).</summary>
    public double[] PerClassAccuracy
    {
        get
        {
            int c = Confusion.GetLength(0);
            var acc = new double[c];
            for (int i = 0; i < c; i++)
            {
                long total = 0;
                for (int j = 0; j < c; j++) total += Confusion[i, j];
                acc[i] = total == 0 ? double.NaN : (double)Confusion[i, i] / total;
            }
            return acc;
        }
    }
}

/// <summary>
/// The linear classification protocol on frozen features: Linear(D, classes) with weights N(0, 0.01) and zero bias,
/// SGD with momentum, cross-entropy, the step (or cosine) <see cref="LrSchedule"/> per step (step milestones fall on
/// epoch boundaries, as the paper's per-epoch schedule), top-1/top-5 on the test features after
/// every epoch. Works on cached features (the backbone is frozen and in eval mode, so its features never change):
/// the CPU cost per epoch is one small matrix product instead of a pass through the network.
/// A non-finite loss stops training with an <see cref="UnsupException"/> that says what to change.
/// </summary>
public static class LinearProbe
{
    public static LinearProbeResult Train(Tensor trainFeatures, Tensor trainLabels, Tensor testFeatures, Tensor testLabels,
        int numClasses, LinearProbeOptions options, Device? device = null, Action<LinearProbeEpoch>? onEpoch = null)
    {
        if (trainFeatures.dim() != 2 || testFeatures.dim() != 2 || trainFeatures.shape[1] != testFeatures.shape[1])
            throw new ArgumentException("features must be [N, D] with the same D for both splits");
        using var scope = NewDisposeScope();
        var xTrain = trainFeatures.to(ScalarType.Float32).to(device ?? CPU).detach();
        return Train(trainFeatures.shape[0], idx => xTrain[idx], trainLabels, testFeatures, testLabels, numClasses, options, device, onEpoch);
    }

    /// <summary>
    /// The general form: <paramref name="trainBatch"/> gives the features of the training images at the given indices
    /// (int64 on <paramref name="device"/>), e.g. of freshly augmented crops through the frozen backbone.
    /// </summary>
    public static LinearProbeResult Train(long trainCount, Func<Tensor, Tensor> trainBatch, Tensor trainLabels, Tensor testFeatures, Tensor testLabels,
        int numClasses, LinearProbeOptions options, Device? device = null, Action<LinearProbeEpoch>? onEpoch = null)
    {
        options.Validate();
        device ??= CPU;
        if (testFeatures.dim() != 2) throw new ArgumentException("test features must be [N, D]");
        if (trainCount == 0) throw new UnsupException("the training split is empty: nothing to train the linear classifier on");
        if (testFeatures.shape[0] == 0) throw new UnsupException("the test split is empty: nothing to evaluate the linear classifier on");
        if (numClasses < 2) throw new UnsupException($"{numClasses} class(es): the linear protocol needs labelled data with at least 2 classes");

        using var scope = NewDisposeScope();
        (Tensor Mean, Tensor Std)? scaling = options.StandardizeFeatures ? Standardization(trainCount, trainBatch, options, device) : null;
        var xTest = Prepare(testFeatures, options, device, scaling);
        var yTrain = trainLabels.to(ScalarType.Int64).to(device);
        var yTest = testLabels.to(ScalarType.Int64).to(device);

        // one seeded generator for the initial weights and the batch order: the same options give the same probe,
        // whatever else drew from torch's global generator before
        var generator = new Generator((ulong)options.Seed);
        using var linear = nn.Linear(xTest.shape[1], numClasses);
        using (no_grad())
        {
            linear.weight!.copy_(randn(linear.weight.shape, generator: generator) * 0.01);
            nn.init.zeros_(linear.bias!);
        }
        linear.to(device);
        using var sgd = optim.SGD(linear.parameters(), options.Lr, options.Momentum, weight_decay: options.WeightDecay);
        long stepsPerEpoch = (trainCount + options.BatchSize - 1) / options.BatchSize;
        var schedule = LrSchedule.Create(options.Schedule, options.Epochs * stepsPerEpoch, 0, options.EffectiveMilestones.Select(m => m * stepsPerEpoch));

        var history = new List<LinearProbeEpoch>();
        long n = trainCount;
        Tensor? lastPred = null;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            double lr = schedule.Factor(epoch * stepsPerEpoch) * options.Lr;   // the epoch's first step: what the log reports
            using var pause = GcPause.Begin();   // per epoch: its few hundred small steps stay well inside the budget
            using var epochScope = NewDisposeScope();
            var order = randperm(n, generator: generator).to(device);
            double lossSum = 0;
            long seen = 0;
            for (long start = 0; start < n; start += options.BatchSize)
            {
                using var step = NewDisposeScope();
                var idx = order.narrow(0, start, Math.Min(options.BatchSize, n - start));
                double stepLr = schedule.Apply(sgd, epoch * stepsPerEpoch + start / options.BatchSize);
                var loss = nn.functional.cross_entropy(linear.call(Prepare(trainBatch(idx), options, device, scaling)), yTrain[idx]);
                sgd.zero_grad();
                loss.backward();
                sgd.step();
                double l = loss.item<float>();
                if (!double.IsFinite(l))
                    throw new UnsupException($"the linear classifier diverged: loss {l} at epoch {epoch + 1} with lr {stepLr:G3}" +
                        (options.NormalizeFeatures ? "; try a lower --lr (e.g. 1 or 0.1)" : "; try --normalize-features or a lower --lr (e.g. 1 or 0.1)"));
                lossSum += l * idx.shape[0];
                seen += idx.shape[0];
            }
            Tensor scores;
            using (no_grad()) scores = linear.call(xTest);
            var (top1, top5) = KnnEvaluation.TopK(scores, yTest);
            lastPred?.Dispose();
            lastPred = scores.argmax(1).cpu().MoveToOuterDisposeScope();
            var record = new LinearProbeEpoch(epoch + 1, lr, lossSum / seen, top1, top5);
            history.Add(record);
            onEpoch?.Invoke(record);
        }
        var confusion = Confusion(lastPred!, yTest.cpu(), numClasses);
        lastPred!.Dispose();
        return new LinearProbeResult(history, confusion);
    }

    static Tensor Prepare(Tensor features, LinearProbeOptions o, Device device, (Tensor Mean, Tensor Std)? scaling = null)
    {
        var x = features.to(ScalarType.Float32).to(device);
        if (o.NormalizeFeatures) x = nn.functional.normalize(x, p: 2, dim: 1);
        if (scaling is { } s) x = (x - s.Mean) / s.Std;
        return x.detach();
    }

    /// <summary>Per-dimension mean and standard deviation of the (prepared) training features, in one pass of batches.</summary>
    static (Tensor Mean, Tensor Std) Standardization(long trainCount, Func<Tensor, Tensor> trainBatch, LinearProbeOptions o, Device device)
    {
        using var noGrad = no_grad();
        Tensor? sum = null, sumSq = null;
        for (long start = 0; start < trainCount; start += o.BatchSize)
        {
            using var step = NewDisposeScope();
            var idx = arange(start, Math.Min(start + o.BatchSize, trainCount), dtype: ScalarType.Int64, device: device);
            var x = Prepare(trainBatch(idx), o, device).to(ScalarType.Float64);
            var (s, q) = (x.sum([0L]), x.square().sum([0L]));   // not sum(0): a literal 0 converts to the ScalarType overload
            if (sum is null) { sum = s.MoveToOuterDisposeScope(); sumSq = q.MoveToOuterDisposeScope(); }
            else { sum.add_(s); sumSq!.add_(q); }
        }
        var mean = sum! / trainCount;
        // constant dimensions (e.g. a ReLU unit that never fires) keep their scale instead of dividing by zero
        var std = (sumSq! / trainCount - mean.square()).clamp_min(0).sqrt().clamp_min(1e-6);
        return (mean.to(ScalarType.Float32), std.to(ScalarType.Float32));
    }

    /// <summary>counts[true, predicted].</summary>
    public static long[,] Confusion(Tensor predicted, Tensor labels, int numClasses)
    {
        using var scope = NewDisposeScope();
        var flat = labels.to(ScalarType.Int64) * numClasses + predicted.to(ScalarType.Int64);
        var counts = bincount(flat, minlength: numClasses * numClasses).data<long>().ToArray();
        var m = new long[numClasses, numClasses];
        for (int i = 0; i < numClasses; i++)
            for (int j = 0; j < numClasses; j++) m[i, j] = counts[i * numClasses + j];
        return m;
    }
}
