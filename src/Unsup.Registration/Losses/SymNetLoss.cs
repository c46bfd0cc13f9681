using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>
/// The SYMNet training objective (Train_sym_onepass / Train_sym_neurite_oasis): similarity at the
/// middle and at both ends, folding penalty on both full maps, smoothness of both velocities and
/// the magnitude balance of the half-way maps. All fields in voxels, as the official code scales them.
/// </summary>
public sealed class SymNetLoss : IDisposable
{
    /// <summary>λ_J, weight of mean ReLU(-det J) (official --local_ori, default 100).</summary>
    public double JacobianWeight { get; init; } = 100.0;
    /// <summary>λ_s, weight of the velocity smoothness (official --smooth, default 3).</summary>
    public double SmoothnessWeight { get; init; } = 3.0;
    /// <summary>λ_m, weight of the magnitude balance (Train_sym_onepass default 0.1; the neurite-OASIS run used 0.001).</summary>
    public double MagnitudeWeight { get; init; } = 0.1;
    /// <summary>
    /// λ_L, weight of the label-overlap term (<see cref="SoftDice"/>) when label maps come with the pair; 0 = the
    /// official objective. Not in SYMNet: added for training on synthesised pairs (see SoftDice for why).
    /// </summary>
    public double LabelWeight { get; init; }

    private readonly LocalNcc ncc;

    /// <param name="dims">2 or 3</param>
    /// <param name="window">NCC window; null = 7 in 3D, 5 in 2D</param>
    public SymNetLoss(int dims = 3, int? window = null)
    {
        ncc = new LocalNcc(window ?? LocalNcc.DefaultWindow(dims));
    }

    public int Window => ncc.Window;

    /// <param name="x">normalised fixed images [N, 1, *spatial]</param>
    /// <param name="y">normalised moving images</param>
    /// <param name="f">the pass of <see cref="SymNetPipeline.Forward"/> on (x, y)</param>
    /// <param name="labelsX">one-hot label maps of x [N, L, *spatial] (<see cref="SoftDice.OneHot"/>); used when <see cref="LabelWeight"/> &gt; 0</param>
    /// <param name="labelsY">the same for y</param>
    public SymNetLossTerms Compute(Tensor x, Tensor y, SymNetFields f, Tensor? labelsX = null, Tensor? labelsY = null)
    {
        using var scope = NewDisposeScope();
        var xHalf = SpatialTransformer.Warp(x, f.HalfXY);
        var yHalf = SpatialTransformer.Warp(y, f.HalfYX);
        var xToY = SpatialTransformer.Warp(x, f.FullXY);
        var yToX = SpatialTransformer.Warp(y, f.FullYX);

        var mid = ncc.forward(xHalf, yHalf);
        var full = ncc.forward(y, xToY) + ncc.forward(x, yToX);
        var magnitude = RegularizationLosses.Magnitude(f.HalfXY, f.HalfYX);
        var jacobian = RegularizationLosses.NegativeJacobian(f.FullXY) + RegularizationLosses.NegativeJacobian(f.FullYX);
        var smooth = RegularizationLosses.Smoothness(f.VelocityXY) + RegularizationLosses.Smoothness(f.VelocityYX);
        var total = mid + full + MagnitudeWeight * magnitude + JacobianWeight * jacobian + SmoothnessWeight * smooth;

        Tensor? labels = null;
        if (LabelWeight > 0 && labelsX is not null && labelsY is not null)
        {
            // each label map carried to the other end. Not half-way: two maps warped by one shared contraction
            // overlap better and better while the full maps stay the identity — the network found that in 50 steps
            labels = SoftDice.Loss(labelsY, SpatialTransformer.Warp(labelsX, f.FullXY))
                   + SoftDice.Loss(labelsX, SpatialTransformer.Warp(labelsY, f.FullYX));
            total = total + LabelWeight * labels;
        }

        var terms = new SymNetLossTerms(total, mid, full, magnitude, jacobian, smooth, labels);
        foreach (var t in new[] { total, mid, full, magnitude, jacobian, smooth, labels }) t?.MoveToOuterDisposeScope();
        return terms;
    }

    public void Dispose() => ncc.Dispose();
}
