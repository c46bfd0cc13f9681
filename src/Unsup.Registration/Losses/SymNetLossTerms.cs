using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>The weighted total and the unweighted terms of one SYMNet loss evaluation (scalars).</summary>
/// <param name="Total">what to minimise: Mid + Full + λ_m·Magnitude + λ_J·Jacobian + λ_s·Smoothness</param>
/// <param name="MidSimilarity">-NCC between X and Y, both warped half-way</param>
/// <param name="FullSimilarity">-NCC(Y, X warped by F_XY) - NCC(X, Y warped by F_YX)</param>
/// <param name="Magnitude">magnitude difference of the two half-way fields</param>
/// <param name="Jacobian">mean ReLU(-det J) of F_XY plus that of F_YX</param>
/// <param name="Smoothness">smoothness of v_XY plus that of v_YX</param>
/// <param name="LabelOverlap">soft-Dice loss of each label map warped onto the other (null when not used); Total adds λ_L times it</param>
public sealed record SymNetLossTerms(
    Tensor Total, Tensor MidSimilarity, Tensor FullSimilarity,
    Tensor Magnitude, Tensor Jacobian, Tensor Smoothness, Tensor? LabelOverlap = null) : IDisposable
{
    public void Dispose()
    {
        foreach (var t in new[] { Total, MidSimilarity, FullSimilarity, Magnitude, Jacobian, Smoothness, LabelOverlap })
            t?.Dispose();
    }
}
