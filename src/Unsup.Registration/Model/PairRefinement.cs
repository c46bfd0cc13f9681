using TorchSharp.Modules;
using Unsup.Registration.Losses;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// Per-pair refinement (instance optimisation, as VoxelMorph and LapIRN users do): the network's two velocity
/// fields become the parameters and Adam minimises the SYMNet training loss (<see cref="SymNetLoss"/>) for this one
/// pair, through the same integration and composition as the network's pass (<see cref="SymNetPipeline.FromVelocities"/>).
/// The network is not changed. With 0 steps nothing runs and the network's fields are returned as they are.
/// </summary>
public sealed class PairRefinement : IDisposable
{
    /// <summary>
    /// Adam's rate in voxels of velocity per step: Adam moves each velocity value by about this much per step,
    /// so 50 steps can move a boundary by a voxel or two (the network's residual errors at 1–3 mm) while the
    /// smoothness and folding terms keep the field regular.
    /// </summary>
    public const double DefaultLearningRate = 0.05;

    public int Steps { get; }
    public double LearningRate { get; }
    public SymNetLoss Loss { get; }

    /// <summary>Total loss before the first step and after every step (Steps + 1 values) of the last <see cref="Refine"/>.</summary>
    public IReadOnlyList<double> LossHistory { get; private set; } = [];

    /// <param name="steps">Adam steps (0: no refinement)</param>
    /// <param name="loss">the objective (default: the official weights of <see cref="SymNetLoss"/> for 3D); owned by this object</param>
    public PairRefinement(int steps, double learningRate = DefaultLearningRate, SymNetLoss? loss = null)
    {
        if (steps < 0) throw new UnsupException($"--refine {steps}: must be ≥ 0 steps");
        if (!(learningRate > 0) || !double.IsFinite(learningRate)) throw new UnsupException($"--refine-lr {learningRate}: must be a positive number");
        Steps = steps;
        LearningRate = learningRate;
        Loss = loss ?? new SymNetLoss(3);
    }

    /// <summary>
    /// Optimises the velocities of <paramref name="initial"/> for fixed <paramref name="x"/> and moving <paramref name="y"/>
    /// (normalised, padded as the network saw them, [1, 1, *spatial]) and returns the pass from the optimised velocities
    /// (tensors in the caller's dispose scope, without gradient history).
    /// </summary>
    public SymNetFields Refine(Tensor x, Tensor y, SymNetFields initial, int integrationSteps = DiffeomorphicTransform.DefaultSteps)
    {
        var history = new List<double>();
        using var vXY = new Parameter(initial.VelocityXY.detach().clone(), requires_grad: true);
        using var vYX = new Parameter(initial.VelocityYX.detach().clone(), requires_grad: true);
        using var adam = optim.Adam([vXY, vYX], lr: LearningRate);
        for (int step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            adam.zero_grad();
            using var fields = SymNetPipeline.FromVelocities(vXY, vYX, integrationSteps);
            using var terms = Loss.Compute(x, y, fields);
            double total = terms.Total.item<float>();
            if (!double.IsFinite(total)) throw new UnsupException($"per-pair refinement: the loss is {total} at step {step}; try a smaller --refine-lr");
            history.Add(total);
            terms.Total.backward();
            adam.step();
        }
        using var noGrad = no_grad();
        var result = SymNetPipeline.FromVelocities(vXY.detach(), vYX.detach(), integrationSteps);
        using (var final = Loss.Compute(x, y, result)) history.Add(final.Total.item<float>());
        LossHistory = history;
        return result;
    }

    public void Dispose() => Loss.Dispose();
}
