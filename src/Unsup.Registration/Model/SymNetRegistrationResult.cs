using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// Output of <see cref="SymNetRegistration.Register"/>, at the input size, on the device of the model.
/// Fields are displacements in voxels, [N, nd, *spatial], channel 0 along the last array axis
/// (the official files store the same values as (D, H, W, 3)); warping I by f means I(id + f).
/// The half-way fields and velocities are in <see cref="SymNetRegistration.Fields"/>.
/// </summary>
/// <param name="Forward">F_YX, moving → fixed: moving warped by it lies on the fixed image (official "B_to_A").</param>
/// <param name="Inverse">F_XY, fixed → moving: fixed warped by it lies on the moving image (official "A_to_B").</param>
/// <param name="Seconds">Wall time of the network and transforms (no file I/O).</param>
public sealed record SymNetRegistrationResult(Tensor Forward, Tensor Inverse, double Seconds) : IDisposable
{
    public void Dispose()
    {
        Forward.Dispose();
        Inverse.Dispose();
    }
}
