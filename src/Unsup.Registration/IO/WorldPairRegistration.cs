using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Affine;
using Unsup.Registration.Geometry;
using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// Images on different grids (or an affine step asked for): everything happens in world coordinates. An optional
/// affine alignment, both images resampled into the network's grid around the fixed brain, SYMNet there, and the
/// composed mapping sampled back on the fixed grid (moved image, labels, fields) and the moving grid (inverse field).
/// </summary>
public static class WorldPairRegistration
{
    public static RegisterPairSummary Run(PairInputs p, VolumeGeometry fixedGrid, VolumeGeometry movingGrid, bool affine)
    {
        var o = p.Options;
        double[,] fixedToMoving = Matrix4.Identity();
        double[] centre = WorldResampler.CentreOfMass(p.FixedIn, fixedGrid);
        double? secondsAffine = null;
        AffineResult? aligned = null;
        if (affine)
        {
            aligned = AffineRegistration.Register(p.FixedIn, fixedGrid, p.MovingIn, movingGrid, o.AffineOptions);
            fixedToMoving = aligned.FixedToMoving; centre = aligned.Centre; secondsAffine = aligned.Seconds;
        }
        var network = o.Network.CentredAt(centre);
        using var w = WorldSpaceRegistration.Register(p.Registration, p.FixedIn, fixedGrid, p.MovingIn, movingGrid, fixedToMoving, network);
        p.CheckFinite(w.NetworkForward, w.NetworkInverse);
        if (aligned is not null) ItkTransformFiles.WriteAffine(p.Out("affine_itk", "affine_itk.txt"), fixedToMoving, aligned.Centre);

        var moved = WorldResampler.Sample(p.MovingVoxels, w.FixedToMovingVoxels);
        VolumeFile.Write(p.Out("moved", "moved.nii.gz"), p.FixedImage.Like(moved.clone()));
        var forward = WorldSpaceRegistration.ToVoxelDisplacement(WorldResampler.Transform(w.FixedToMovingWorld, Matrix4.Inverse(fixedGrid.Affine)));
        var inverse = WorldSpaceRegistration.ToVoxelDisplacement(w.MovingToFixedVoxels);
        VolumeFile.Write(p.Out("forward_field", "forward_field.nii.gz"), p.FixedImage.VectorFieldLike(DisplacementLayout.ToChannelsLast(forward)[0]));
        VolumeFile.Write(p.Out("inverse_field", "inverse_field.nii.gz"), p.MovingImage.VectorFieldLike(DisplacementLayout.ToChannelsLast(inverse)[0]));
        var fieldItk = p.Out("forward_field_itk", "forward_field_itk.nii.gz");
        var fieldElastix = p.Out("transformix_field", "transformix_field.nii.gz");
        using (var disp = w.FixedToMovingWorld - WorldResampler.WorldPoints(fixedGrid))
        {
            ItkTransformFiles.WriteDisplacementField(fieldItk, p.FixedImage, disp);
            ItkTransformFiles.WriteDisplacementField(fieldElastix, p.FixedImage, disp, NiftiIntent.Vector);
        }
        ItkTransformFiles.WriteElastixField(p.Out("transformix", "transformix_field.txt"), fieldElastix, p.FixedImage);
        ItkTransformFiles.WriteElastixField(p.Out("transformix_labels", "transformix_field_labels.txt"), fieldElastix, p.FixedImage, labels: true);

        Tensor? movedLabels = null;
        if (p.MovingLabels is not null)
        {
            movedLabels = WorldResampler.Sample(p.MovingLabels, w.FixedToMovingVoxels);
            VolumeFile.Write(p.Out("moved_labels", "moved_labels.nii.gz"), p.FixedImage.Like(movedLabels.to(ScalarType.Int32), NiftiIntent.Label));
        }
        // the moving image and labels where they lie in the world, on the fixed grid: the "before" of Dice and the overview
        // (a [*fixed, 3] tensor: made only when one of them is asked for)
        Tensor? asIs = null;
        Tensor AsIsPoints() => asIs ??= WorldResampler.Transform(WorldResampler.WorldPoints(fixedGrid), Matrix4.Inverse(movingGrid.Affine));
        var deformation = RegistrationEvaluation.Evaluate(w.NetworkForward, w.NetworkInverse);
        double? meanDice = null, before = null; Dictionary<string, double>? perLabel = null;
        if (p.MovingLabels is not null && p.FixedLabels is not null)
        {
            var ids = p.DiceLabels();
            var d = Dice.PerLabel(movedLabels!, p.FixedLabels, ids);
            perLabel = ids.Select((id, i) => (id, d[i])).ToDictionary(x => x.id.ToString(), x => x.Item2);
            meanDice = Dice.Mean(movedLabels!, p.FixedLabels, ids);
            before = Dice.Mean(WorldResampler.Sample(p.MovingLabels, AsIsPoints()), p.FixedLabels, ids);
        }
        if (o.Overview)
            RegistrationOverview.Write(p.Out("overview", "overview.png"), p.FixedVoxels, WorldResampler.Sample(p.MovingVoxels, AsIsPoints()), moved, forward);
        return new RegisterPairSummary(
            Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), Path.GetFullPath(o.WeightsPath),
            w.SecondsNetwork, p.Clock.Elapsed.TotalSeconds,
            deformation.PercentNonPositiveJacobian, deformation.StdLogJacobian, deformation.InverseConsistencyError,
            meanDice, before, perLabel, p.Outputs,
            Geometry: $"world: resampled into a {string.Join("x", network.Shape)} grid at {o.Network.SpacingMm} mm" + (affine ? " after affine alignment" : ""),
            SecondsAffine: secondsAffine)
        {
            Refinement = o.RefineSteps > 0 && p.Registration.Refinement!.LossHistory.Count > 0
                ? new RefinementSummary(o.RefineSteps, o.RefineLearningRate, p.Registration.Refinement.LossHistory[0], p.Registration.Refinement.LossHistory[^1])
                : null,
        };
    }
}
