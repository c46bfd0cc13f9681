using Unsup.Registration.Model;
using Unsup.Registration.Synthesis;
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

    /// <summary>
    /// Weight of the NCC terms (mid and full), 1 = the official objective. 0 with a label term is SynthMorph's setting
    /// (Hoffmann et al. 2022: trained on synthesised pairs by label overlap alone, since their random contrasts give
    /// image similarity little to hold on to); the NCC terms are then not computed and reported as 0.
    /// </summary>
    public double SimilarityWeight { get; init; } = 1.0;

    /// <summary>
    /// Gaussian sigma in voxels applied to both images before the similarity terms (0 = the official objective).
    /// Linear interpolation averages neighbouring voxels, so a warp that lands between voxels (half a voxel, for both
    /// half-way images) removes part of each image's voxel noise; on SynthSeg-style images, whose every voxel is an
    /// independent draw, that raises the local NCC of two subjects by 77 % (0.032 → 0.056 at 2 mm) where misaligning
    /// them by a voxel costs 0.003, so a network trained from scratch learns sub-voxel shifts instead of anatomy
    /// (bench/results/registration/from-scratch.md). Comparing smoothed images leaves the warps only alignment to gain
    /// (+3 % for the same shift at sigma 1.5). The label term and the network's inputs are not smoothed.
    /// </summary>
    public double SimilarityBlur { get; init; }

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
        var (mid, full) = SimilarityWeight > 0 ? Similarity(x, y, f) : (zeros(1, device: x.device).squeeze(), zeros(1, device: x.device).squeeze());
        var magnitude = RegularizationLosses.Magnitude(f.HalfXY, f.HalfYX);
        var jacobian = RegularizationLosses.NegativeJacobian(f.FullXY) + RegularizationLosses.NegativeJacobian(f.FullYX);
        var smooth = RegularizationLosses.Smoothness(f.VelocityXY) + RegularizationLosses.Smoothness(f.VelocityYX);
        // the official sum's order when the weight is 1 (x 1.0 is exact), so its value is the official code's to the bit
        var total = (SimilarityWeight > 0 ? SimilarityWeight * (mid + full) : mid) + MagnitudeWeight * magnitude + JacobianWeight * jacobian + SmoothnessWeight * smooth;

        Tensor? labels = null;
        if (LabelWeight > 0 && labelsX is not null && labelsY is not null)
        {
            labels = LabelOverlap(labelsX, labelsY, f);
            total = total + LabelWeight * labels;
        }

        var terms = new SymNetLossTerms(total, mid, full, magnitude, jacobian, smooth, labels);
        foreach (var t in new[] { total, mid, full, magnitude, jacobian, smooth, labels }) t?.MoveToOuterDisposeScope();
        return terms;
    }

    /// <summary>
    /// The label term, unweighted: 1 − soft Dice of each one-hot map warped onto the other by the full maps, summed. Not
    /// half-way: two maps warped by one shared contraction overlap better and better while the full maps stay the
    /// identity — the network found that in 50 steps.
    /// </summary>
    public static Tensor LabelOverlap(Tensor labelsX, Tensor labelsY, SymNetFields f) =>
        SoftDice.Loss(labelsY, SpatialTransformer.Warp(labelsX, f.FullXY)) + SoftDice.Loss(labelsX, SpatialTransformer.Warp(labelsY, f.FullYX));

    /// <summary>-NCC half-way and -NCC at both ends (the official similarity terms), on blurred images when <see cref="SimilarityBlur"/> &gt; 0.</summary>
    (Tensor Mid, Tensor Full) Similarity(Tensor x, Tensor y, SymNetFields f)
    {
        var (xs, ys) = SimilarityBlur > 0 ? (Smoothed(x), Smoothed(y)) : (x, y);
        var mid = ncc.forward(SpatialTransformer.Warp(xs, f.HalfXY), SpatialTransformer.Warp(ys, f.HalfYX));
        var full = ncc.forward(ys, SpatialTransformer.Warp(xs, f.FullXY)) + ncc.forward(xs, SpatialTransformer.Warp(ys, f.FullYX));
        return (mid, full);
    }

    /// <summary>Each [1, *spatial] image of the batch blurred by <see cref="SimilarityBlur"/> (no gradient: the images are inputs).</summary>
    Tensor Smoothed(Tensor images)
    {
        using var noGrad = no_grad();
        var items = Enumerable.Range(0, (int)images.shape[0]).Select(i => images[i, 0]).ToList();
        return stack(items.Select(t => LabelImageSynthesizer.GaussianBlur(t, SimilarityBlur)), 0).unsqueeze(1);
    }

    public void Dispose() => ncc.Dispose();
}
