using static TorchSharp.torch;

namespace Unsup.Registration;

/// <summary>
/// Output of <see cref="SymNetRegistration.Register"/>, at the input size, on the CPU/device of the model.
/// Fields are displacements in voxels, [N, nd, *spatial], channel 0 along the last array axis
/// (the official files store the same values as (D, H, W, 3)); warping I by f means I(id + f).
/// </summary>
/// <param name="Forward">F_YX, moving → fixed: moving warped by it lies on the fixed image (official "B_to_A").</param>
/// <param name="Inverse">F_XY, fixed → moving: fixed warped by it lies on the moving image (official "A_to_B").</param>
/// <param name="HalfFixed">exp(v_XY): the fixed image warped half-way.</param>
/// <param name="HalfMoving">exp(v_YX): the moving image warped half-way.</param>
/// <param name="Moved">The min-max normalised moving image warped by <paramref name="Forward"/> [N, 1, *spatial].</param>
/// <param name="MovedFixed">The normalised fixed image warped by <paramref name="Inverse"/>.</param>
/// <param name="Seconds">Wall time of the network and transforms (no file I/O).</param>
public sealed record SymNetRegistrationResult(
    Tensor Forward, Tensor Inverse,
    Tensor HalfFixed, Tensor HalfMoving,
    Tensor Moved, Tensor MovedFixed,
    double Seconds) : IDisposable
{
    public void Dispose()
    {
        Forward.Dispose(); Inverse.Dispose();
        HalfFixed.Dispose(); HalfMoving.Dispose();
        Moved.Dispose(); MovedFixed.Dispose();
    }
}
