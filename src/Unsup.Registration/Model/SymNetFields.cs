using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// Everything one symmetric SYMNet pass produces for images X (fixed) and Y (moving). All fields are
/// displacements in voxels, [N, nd, *spatial], channel 0 along the last array axis; warping an image
/// I by a field f means I(id + f).
/// </summary>
/// <param name="VelocityXY">v_XY = RangeFlow × network head 1 (drives X towards the middle).</param>
/// <param name="VelocityYX">v_YX = RangeFlow × network head 2 (drives Y towards the middle).</param>
/// <param name="HalfXY">exp(v_XY): X warped by it is X at the half-way point.</param>
/// <param name="HalfYX">exp(v_YX): Y warped by it is Y at the half-way point.</param>
/// <param name="HalfXYInverse">exp(-v_XY), the inverse of HalfXY.</param>
/// <param name="HalfYXInverse">exp(-v_YX), the inverse of HalfYX.</param>
/// <param name="FullXY">F_XY = Compose(HalfXY, HalfYXInverse): X warped by it matches Y.</param>
/// <param name="FullYX">F_YX = Compose(HalfYX, HalfXYInverse): Y warped by it matches X.</param>
public sealed record SymNetFields(
    Tensor VelocityXY, Tensor VelocityYX,
    Tensor HalfXY, Tensor HalfYX,
    Tensor HalfXYInverse, Tensor HalfYXInverse,
    Tensor FullXY, Tensor FullYX) : IDisposable
{
    private Tensor[] All => [VelocityXY, VelocityYX, HalfXY, HalfYX, HalfXYInverse, HalfYXInverse, FullXY, FullYX];

    /// <summary>Hands every field to the dispose scope around the caller's (see TorchSharp's dispose scopes).</summary>
    public SymNetFields MoveToOuterDisposeScope()
    {
        foreach (var t in All) t.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
    }
}
