using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// The differentiable symmetric forward pass shared by training and inference: network → velocities
/// in voxels → four half-way maps by scaling and squaring → the two full maps by composition.
/// </summary>
public static class SymNetPipeline
{
    /// <param name="x">normalised fixed images [N, 1, *spatial], each size a multiple of 16.</param>
    /// <param name="y">normalised moving images, same shape.</param>
    public static SymNetFields Forward(SymNet model, Tensor x, Tensor y, int steps = DiffeomorphicTransform.DefaultSteps)
    {
        using var scope = NewDisposeScope();
        var (vXY, vYX) = Velocities(model, x, y);
        var fields = FromVelocities(vXY, vYX, steps);
        vXY.Dispose();
        vYX.Dispose();
        return fields.MoveToOuterDisposeScope();
    }

    /// <summary>The network's two stationary velocity fields, in voxels.</summary>
    public static (Tensor VelocityXY, Tensor VelocityYX) Velocities(SymNet model, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var (hXY, hYX) = model.forward(x, y);
        // Working in voxels rather than the official range_flow units is the same arithmetic
        // (every operation is linear in the flow scale), and keeps one unit across the library.
        return ((hXY * SymNet.RangeFlow).MoveToOuterDisposeScope(), (hYX * SymNet.RangeFlow).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The transforms of the pass from given velocities (voxels, [N, nd, *spatial]): what the network's output
    /// goes through, and what per-pair refinement (<see cref="PairRefinement"/>) optimises directly. The returned
    /// fields hold aliases of the velocities, so disposing them leaves the caller's tensors alive; gradients flow through.
    /// </summary>
    public static SymNetFields FromVelocities(Tensor vXY, Tensor vYX, int steps = DiffeomorphicTransform.DefaultSteps)
    {
        using var scope = NewDisposeScope();
        // the four half-way maps in one batched integration: a quarter of the calls, the same memory
        var halves = DiffeomorphicTransform.Integrate(cat([vXY, vYX, -vXY, -vYX], 0), steps).chunk(4, 0);
        var (halfXY, halfYX, halfXYInv, halfYXInv) = (halves[0], halves[1], halves[2], halves[3]);
        var fullXY = CompositionTransform.Compose(halfXY, halfYXInv);
        var fullYX = CompositionTransform.Compose(halfYX, halfXYInv);
        var fields = new SymNetFields(vXY.alias(), vYX.alias(), halfXY, halfYX, halfXYInv, halfYXInv, fullXY, fullYX);
        return fields.MoveToOuterDisposeScope();
    }
}
