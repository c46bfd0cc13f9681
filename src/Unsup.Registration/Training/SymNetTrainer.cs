using TorchSharp;
using Unsup.Distributed;
using Unsup.Registration.Losses;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Training;

/// <summary>The loss terms of one training step, as numbers (unweighted terms; Total is the weighted sum).</summary>
/// <param name="DeadChannels">the network's <see cref="SymNet.LastDeadChannels"/> in this step (mean over ranks)</param>
public sealed record SymNetStepResult(double Total, double MidSimilarity, double FullSimilarity, double Jacobian, double Smoothness, double Magnitude,
    double? LabelOverlap = null, double DeadChannels = 0)
{
    public (string, double)[] AsMetrics()
    {
        (string, double)[] terms = [("loss", Total), ("mid_ncc", MidSimilarity), ("full_ncc", FullSimilarity), ("jacobian", Jacobian), ("smooth", Smoothness), ("magnitude", Magnitude), ("dead_channels", DeadChannels)];
        return LabelOverlap is double l ? [.. terms, ("label_dice_loss", l)] : terms;
    }
}

/// <summary>
/// One SYMNet, its Adam optimizer and loss: the maths of a training step and of validation, without the
/// run folder (see <see cref="SymNetTraining"/> for that). Batch size 1 and unweighted pair sampling, as the
/// official Train_sym_neurite_oasis.py.
/// </summary>
public sealed class SymNetTrainer : IDisposable
{
    public SymNet Model { get; }
    public optim.Optimizer Optimizer { get; }
    public SymNetLoss Loss { get; }
    public Device Device { get; }
    public SymNetTrainConfig Config { get; }
    /// <summary>Ranks training together: each step every rank registers its own pair and the gradients are averaged.</summary>
    public Communicator Comm { get; }
    readonly GradientAverager averager;

    /// <param name="dims">2 or 3, from the data</param>
    public SymNetTrainer(SymNetTrainConfig config, int dims, Device? device = null, Communicator? comm = null)
    {
        Comm = comm ?? Communicator.World;
        config.Validate();
        Config = config;
        Device = device ?? CPU;
        Model = new SymNet(config.StartChannels, dims);
        Model.to(Device);
        Optimizer = optim.Adam(Model.parameters(), lr: config.Lr);
        averager = new GradientAverager(Comm, Model.parameters());
        Loss = new SymNetLoss(dims, config.NccWindow)
        {
            JacobianWeight = config.JacobianWeight,
            SmoothnessWeight = config.SmoothnessWeight,
            MagnitudeWeight = config.MagnitudeWeight,
            LabelWeight = config.LabelWeight,
            SimilarityWeight = config.SimilarityWeight,
            SimilarityBlur = config.SimilarityBlur,
        };
    }

    /// <summary>Loads <see cref="SymNetTrainConfig.Init"/> (if any) into the model.</summary>
    public void LoadInit()
    {
        if (Config.Init is string init) SymNetWeights.Load(Model, init);
    }

    /// <summary>
    /// One Adam step on fixed <paramref name="x"/> and moving <paramref name="y"/> (normalised, [1, 1, *padded]).
    /// With a guard, a non-finite loss (before backward) or gradient (before the step) throws
    /// <see cref="NonFiniteException"/> and the weights stay as they were. With a label weight, <paramref name="labelsX"/>
    /// and <paramref name="labelsY"/> are the pair's one-hot label maps on the padded grid (<see cref="SoftDice.OneHot"/>).
    /// </summary>
    public SymNetStepResult Step(Tensor x, Tensor y, NanGuard? guard = null, long stepNumber = 0, Tensor? labelsX = null, Tensor? labelsY = null)
    {
        using var scope = NewDisposeScope();
        Model.train();
        Optimizer.zero_grad();
        using var fields = SymNetPipeline.Forward(Model, x.to(Device), y.to(Device), Config.IntegrationSteps);
        using var terms = Loss.Compute(x.to(Device), y.to(Device), fields, labelsX?.to(Device), labelsY?.to(Device));
        guard?.CheckLoss(stepNumber, terms.Total);
        terms.Total.backward();
        averager.Average();
        guard?.CheckGradients(stepNumber, Model);
        Optimizer.step();
        Tensor[] parts = [terms.Total, terms.MidSimilarity, terms.FullSimilarity, terms.Jacobian, terms.Smoothness, terms.Magnitude];
        if (terms.LabelOverlap is not null) parts = [.. parts, terms.LabelOverlap];
        double[] local = [.. stack(parts).detach().to(ScalarType.Float64).cpu().data<double>().ToArray(), Model.LastDeadChannels];
        var v = Comm.AverageScalars(local);   // averaged with the loss, so every rank takes the same decision on a dead network
        return new SymNetStepResult(v[0], v[1], v[2], v[3], v[4], v[5], v.Length > 7 ? v[6] : null, v[^1]);
    }

    /// <summary>
    /// Dice (over <see cref="SymNetTrainingData.EvalLabels"/>) and folding of the moving→fixed map for every
    /// ordered pair of the held-out subjects, computed on the unpadded grid.
    /// </summary>
    public SymNetValidation Validate(SymNetTrainingData data)
    {
        if (data.Labels is null || data.ValidationCount < 2) throw new InvalidOperationException("validation needs label maps and at least 2 held-out subjects");
        Model.eval();
        var dice = new List<double>();
        var before = new List<double>();
        var fold = new List<double>();
        int first = data.TrainCount;
        for (int i = first; i < data.Count; i++)
            for (int j = first; j < data.Count; j++)
            {
                if (i == j) continue;
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var x = data.Images.narrow(0, i, 1).to(Device);
                var y = data.Images.narrow(0, j, 1).to(Device);
                using var f = SymNetPipeline.Forward(Model, x, y, Config.IntegrationSteps);
                var forward = SizePadding.Crop(f.FullYX, data.Spatial);
                var ev = RegistrationEvaluation.Evaluate(forward, null,
                    data.Labels.narrow(0, j, 1).to(Device), data.Labels.narrow(0, i, 1).to(Device), data.EvalLabels);
                dice.Add(ev.MeanDice);
                before.Add(ev.MeanDiceBefore);
                fold.Add(ev.PercentNonPositiveJacobian);
            }
        Model.train();
        double mean = dice.Average();
        double std = dice.Count > 1 ? Math.Sqrt(dice.Sum(d => (d - mean) * (d - mean)) / (dice.Count - 1)) : 0;
        return new SymNetValidation(mean, std, before.Average(), fold.Average(), dice.Count, data.EvalLabels);
    }

    public void Dispose()
    {
        Loss.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}
