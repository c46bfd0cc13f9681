using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// Both images on one grid and no affine step: the network runs on the images as they are (the official inference),
/// and the fields, moved image and labels live on that grid.
/// </summary>
public static class SameGridPairRegistration
{
    public static RegisterPairSummary Run(PairInputs p)
    {
        var o = p.Options;
        using var result = p.Registration.Register(p.FixedIn, p.MovingIn);
        var forward = result.Forward.cpu(); var inverse = result.Inverse.cpu();
        p.CheckFinite(forward, inverse);

        // The moved image keeps the moving image's intensities (not the normalised ones the network saw).
        var moved = SpatialTransformer.Warp(p.MovingVoxels.reshape([1, 1, .. p.MovingVoxels.shape]), forward)[0, 0];
        NiftiWriter.Write(p.Out("moved", "moved.nii.gz"), p.FixedImage.Like(moved.clone()));
        NiftiWriter.Write(p.Out("forward_field", "forward_field.nii.gz"), p.FixedImage.VectorFieldLike(DisplacementLayout.ToChannelsLast(forward)[0]));
        NiftiWriter.Write(p.Out("inverse_field", "inverse_field.nii.gz"), p.MovingImage.VectorFieldLike(DisplacementLayout.ToChannelsLast(inverse)[0]));
        Tensor? movedLabels = null;
        if (p.MovingLabels is not null)
        {
            movedLabels = SpatialTransformer.Warp(p.MovingLabels.reshape([1, 1, .. p.MovingLabels.shape]), forward, Interpolation.Nearest)[0, 0];
            NiftiWriter.Write(p.Out("moved_labels", "moved_labels.nii.gz"), p.FixedImage.Like(movedLabels.to(ScalarType.Int32), NiftiIntent.Label));
        }

        bool bothLabels = p.MovingLabels is not null && p.FixedLabels is not null;
        var eval = RegistrationEvaluation.Evaluate(forward, inverse, bothLabels ? p.MovingLabels : null, bothLabels ? p.FixedLabels : null,
            labels: bothLabels ? p.DiceLabels() : null, movedLabels: bothLabels ? movedLabels : null);
        if (o.Overview) RegistrationOverview.Write(p.Out("overview", "overview.png"), p.FixedVoxels, p.MovingVoxels, moved, forward);
        bool dice = !double.IsNaN(eval.MeanDice);
        return new RegisterPairSummary(
            Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), Path.GetFullPath(o.WeightsPath),
            result.Seconds, p.Clock.Elapsed.TotalSeconds,
            eval.PercentNonPositiveJacobian, eval.StdLogJacobian, eval.InverseConsistencyError,
            dice ? eval.MeanDice : null, dice ? eval.MeanDiceBefore : null,
            dice ? eval.DicePerLabel.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value) : null,
            p.Outputs)
        {
            Refinement = o.RefineSteps > 0
                ? new RefinementSummary(o.RefineSteps, o.RefineLearningRate, p.Registration.Refinement!.LossHistory[0], p.Registration.Refinement!.LossHistory[^1])
                : null,
        };
    }
}
