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
        var (hXY, hYX) = model.forward(x, y);
        // Working in voxels rather than the official range_flow units is the same arithmetic
        // (every operation is linear in the flow scale), and keeps one unit across the library.
        var vXY = hXY * SymNet.RangeFlow;
        var vYX = hYX * SymNet.RangeFlow;
        var halfXY = DiffeomorphicTransform.Integrate(vXY, steps);
        var halfYX = DiffeomorphicTransform.Integrate(vYX, steps);
        var halfXYInv = DiffeomorphicTransform.Integrate(-vXY, steps);
        var halfYXInv = DiffeomorphicTransform.Integrate(-vYX, steps);
        var fullXY = CompositionTransform.Compose(halfXY, halfYXInv);
        var fullYX = CompositionTransform.Compose(halfYX, halfXYInv);
        var fields = new SymNetFields(vXY, vYX, halfXY, halfYX, halfXYInv, halfYXInv, fullXY, fullYX);
        foreach (var t in new[] { vXY, vYX, halfXY, halfYX, halfXYInv, halfYXInv, fullXY, fullYX })
            t.MoveToOuterDisposeScope();
        return fields;
    }
}
