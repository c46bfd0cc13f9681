using System.Text.Json;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Affine;
using Unsup.Registration.Geometry;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

public sealed record RegisterPairOptions
{
    public required string FixedPath { get; init; }
    public required string MovingPath { get; init; }
    public required string WeightsPath { get; init; }
    public required string OutDir { get; init; }
    public string? MovingLabelsPath { get; init; }
    public string? FixedLabelsPath { get; init; }
    public Device Device { get; init; } = CPU;
    public bool Overview { get; init; } = true;
    /// <summary>Brain masks on their image's grid: voxels outside are zeroed before any registration.</summary>
    public string? FixedMaskPath { get; init; }
    public string? MovingMaskPath { get; init; }
    /// <summary>Affine pre-alignment: Auto runs it when the images are not on one grid.</summary>
    public AffineMode Affine { get; init; } = AffineMode.Auto;
    public AffineOptions AffineOptions { get; init; } = new();
    /// <summary>The grid the network sees when the images are resampled (not on one grid, or affine on).</summary>
    public NetworkSpace Network { get; init; } = NetworkSpace.Oasis;
    /// <summary>Per-pair refinement: Adam steps on the velocities (0 = the network's output as it is) and their rate.</summary>
    public int RefineSteps { get; init; }
    public double RefineLearningRate { get; init; } = PairRefinement.DefaultLearningRate;
    /// <summary>Which labels Dice averages (null: the nonzero labels of the fixed map).</summary>
    public DiceLabelChoice? DiceLabels { get; init; }
}

/// <summary>Whether `symnet register` aligns the images affinely first.</summary>
public enum AffineMode { Auto, On, Off }

/// <summary>Summary of one registered pair (written as summary.json).</summary>
public sealed record RegisterPairSummary(
    string Fixed, string Moving, string Weights, double SecondsRegistration, double SecondsTotal,
    double PercentNonPositiveJacobian, double StdLogJacobian, double InverseConsistencyError,
    double? MeanDice, double? MeanDiceBefore, IReadOnlyDictionary<string, double>? DicePerLabel,
    IReadOnlyDictionary<string, string> Outputs, string Geometry = "same grid", double? SecondsAffine = null)
{
    /// <summary>With --refine: steps, rate and the total loss before and after (null without refinement).</summary>
    public RefinementSummary? Refinement { get; init; }
}

public sealed record RefinementSummary(int Steps, double LearningRate, double LossBefore, double LossAfter);

/// <summary>
/// `unsup symnet register`: reads a NIfTI pair, registers it with SYMNet and writes the moved image (fixed header and
/// affine), forward and inverse displacement fields (NIfTI vector images X,Y,Z,1,3 in voxels, channel 0 along the
/// last array axis as the official code), warped labels, summary.json and an overview PNG. The weights may be a
/// .pth state_dict, an Unsup checkpoint or a run folder of `unsup symnet train`; their architecture sets the model.
/// </summary>
public static class RegisterPairJob
{
    public static RegisterPairSummary Run(RegisterPairOptions o)
    {
        var total = System.Diagnostics.Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        // weights first: a wrong --model fails before any image is read or folder made
        using var reg = SymNetRegistration.FromWeights(o.WeightsPath, o.Device);
        using var refine = new PairRefinement(o.RefineSteps, o.RefineLearningRate);
        reg.Refinement = refine;
        if (reg.Model.Dims != 3)
            throw UnsupException.ForFile(o.WeightsPath, $"holds {reg.Model.Dims}D SYMNet weights; `symnet register` registers 3D volumes (use the library's SymNetRegistration for 2D images)");
        var (fixedImg, fixedVox) = RegistrationInputs.ReadImage(o.FixedPath);
        using var _f = fixedImg;
        var (movingImg, movingVox) = RegistrationInputs.ReadImage(o.MovingPath);
        using var _m = movingImg;
        RegistrationInputs.CheckIntensities(o.FixedPath, fixedVox);
        RegistrationInputs.CheckIntensities(o.MovingPath, movingVox);
        var fixedHasOrientation = VolumeGeometry.HasOrientation(fixedImg.Header);
        var movingHasOrientation = VolumeGeometry.HasOrientation(movingImg.Header);
        // Same shape and either the same world placement or none at all (nothing to resample by): today's same-grid path.
        bool sameGrid = fixedVox.shape.SequenceEqual(movingVox.shape) &&
            ((!fixedHasOrientation && !movingHasOrientation) ||
             (fixedHasOrientation && movingHasOrientation && VolumeGeometry.Of(fixedImg, o.FixedPath).SameGrid(VolumeGeometry.Of(movingImg, o.MovingPath))));
        bool affine = o.Affine == AffineMode.On || (o.Affine == AffineMode.Auto && !sameGrid);
        // orientation is needed as soon as the images are placed in the world: refuse before any output exists
        var fixedGeom = sameGrid && !affine ? null : VolumeGeometry.Of(fixedImg, o.FixedPath);
        var movingGeom = sameGrid && !affine ? null : VolumeGeometry.Of(movingImg, o.MovingPath);
        var fixedMask = o.FixedMaskPath is null ? null : RegistrationInputs.ReadMask(o.FixedMaskPath, o.FixedPath, fixedImg);
        var movingMask = o.MovingMaskPath is null ? null : RegistrationInputs.ReadMask(o.MovingMaskPath, o.MovingPath, movingImg);
        var fixedIn = fixedMask is null ? fixedVox : fixedVox * fixedMask;
        var movingIn = movingMask is null ? movingVox : movingVox * movingMask;
        // on one grid without an affine step nothing moves the images together first: refuse a pair that does not overlap
        if (sameGrid && !affine) RegistrationInputs.CheckSameGrid(o.FixedPath, fixedIn, o.MovingPath, movingIn);
        var movingLabels = o.MovingLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.MovingLabelsPath, movingVox.shape);
        var fixedLabels = o.FixedLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.FixedLabelsPath, fixedVox.shape);
        if (!Directory.Exists(o.OutDir))
        {
            try { Directory.CreateDirectory(o.OutDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw UnsupException.ForFile(o.OutDir, $"cannot create the output folder ({e.Message})", e); }
        }
        var outputs = new Dictionary<string, string>();
        string Out(string key, string name) => outputs[key] = Path.Combine(o.OutDir, name);

        if (sameGrid && !affine)
            return SameGrid(o, reg, fixedImg, movingImg, fixedIn, movingIn, movingVox, movingLabels, fixedLabels, outputs, Out, total);
        VolumeGeometry fixedGrid = fixedGeom!, movingGrid = movingGeom!;

        // Images on different grids (or an affine asked for): everything happens in world coordinates.
        double[,] fixedToMoving = Matrix4.Identity();
        double[] centre = WorldResampler.CentreOfMass(fixedIn, fixedGrid);
        double? secondsAffine = null;
        if (affine)
        {
            var a = AffineRegistration.Register(fixedIn, fixedGrid, movingIn, movingGrid, o.AffineOptions);
            fixedToMoving = a.FixedToMoving; centre = a.Centre; secondsAffine = a.Seconds;
            ItkTransformFiles.WriteAffine(Out("affine_itk", "affine_itk.txt"), fixedToMoving, a.Centre);
        }
        var network = o.Network.CentredAt(centre);
        using var w = WorldSpaceRegistration.Register(reg, fixedIn, fixedGrid, movingIn, movingGrid, fixedToMoving, network);

        var moved = WorldResampler.Sample(movingVox, w.FixedToMovingVoxels);
        VolumeFile.Write(Out("moved", "moved.nii.gz"), fixedImg.Like(moved.clone()));
        var forward = WorldSpaceRegistration.ToVoxelDisplacement(WorldResampler.Transform(w.FixedToMovingWorld, Matrix4.Inverse(fixedGrid.Affine)));
        var inverse = WorldSpaceRegistration.ToVoxelDisplacement(w.MovingToFixedVoxels);
        VolumeFile.Write(Out("forward_field", "forward_field.nii.gz"), fixedImg.VectorFieldLike(DisplacementLayout.ToChannelsLast(forward)[0]));
        VolumeFile.Write(Out("inverse_field", "inverse_field.nii.gz"), movingImg.VectorFieldLike(DisplacementLayout.ToChannelsLast(inverse)[0]));
        var fieldItk = Out("forward_field_itk", "forward_field_itk.nii.gz");
        var fieldElastix = Out("transformix_field", "transformix_field.nii.gz");
        using (var disp = w.FixedToMovingWorld - WorldResampler.WorldPoints(fixedGrid))
        {
            ItkTransformFiles.WriteDisplacementField(fieldItk, fixedImg, disp);
            ItkTransformFiles.WriteDisplacementField(fieldElastix, fixedImg, disp, NiftiIntent.Vector);
        }
        ItkTransformFiles.WriteElastixField(Out("transformix", "transformix_field.txt"), fieldElastix, fixedImg);
        ItkTransformFiles.WriteElastixField(Out("transformix_labels", "transformix_field_labels.txt"), fieldElastix, fixedImg, labels: true);

        Tensor? movedLabels = null;
        if (movingLabels is not null)
        {
            movedLabels = WorldResampler.Sample(movingLabels, w.FixedToMovingVoxels);
            VolumeFile.Write(Out("moved_labels", "moved_labels.nii.gz"), fixedImg.Like(movedLabels.to(ScalarType.Int32), NiftiIntent.Label));
        }
        var deformation = RegistrationEvaluation.Evaluate(w.NetworkForward, w.NetworkInverse);
        double? meanDice = null, before = null; Dictionary<string, double>? perLabel = null;
        if (movingLabels is not null && fixedLabels is not null)
        {
            var ids = Dice.Labels(fixedLabels);
            var d = Dice.PerLabel(movedLabels!, fixedLabels, ids);
            perLabel = ids.Select((id, i) => (id, d[i])).ToDictionary(x => x.id.ToString(), x => x.Item2);
            meanDice = Dice.Mean(movedLabels!, fixedLabels, ids);
            // before: the moving labels where they lie in the world, on the fixed grid
            var asIs = WorldResampler.Sample(movingLabels, WorldResampler.Transform(WorldResampler.WorldPoints(fixedGrid), Matrix4.Inverse(movingGrid.Affine)));
            before = Dice.Mean(asIs, fixedLabels, ids);
        }
        if (o.Overview)
        {
            var movingAsIs = WorldResampler.Sample(movingVox, WorldResampler.Transform(WorldResampler.WorldPoints(fixedGrid), Matrix4.Inverse(movingGrid.Affine)));
            RegistrationOverview.Write(Out("overview", "overview.png"), fixedVox, movingAsIs, moved, forward);
        }
        var summary = new RegisterPairSummary(
            Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), Path.GetFullPath(o.WeightsPath),
            w.SecondsNetwork, total.Elapsed.TotalSeconds,
            deformation.PercentNonPositiveJacobian, deformation.StdLogJacobian, deformation.InverseConsistencyError,
            meanDice, before, perLabel, outputs,
            Geometry: $"world: resampled into a {string.Join("x", network.Shape)} grid at {o.Network.SpacingMm} mm" + (affine ? " after affine alignment" : ""),
            SecondsAffine: secondsAffine);
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "summary.json"), JsonSerializer.Serialize(summary, Json));
        return summary;
    }

    /// <summary>Both images on one grid and no affine: the network runs on the images as they are (the official inference).</summary>
    static RegisterPairSummary SameGrid(RegisterPairOptions o, SymNetRegistration reg, NiftiImage fixedImg, NiftiImage movingImg,
        Tensor fixedVox, Tensor movingIn, Tensor movingVox, Tensor? movingLabels, Tensor? fixedLabels,
        Dictionary<string, string> outputs, Func<string, string, string> Out, System.Diagnostics.Stopwatch total)
    {
        using var result = reg.Register(fixedVox, movingIn);
        var forward = result.Forward.cpu(); var inverse = result.Inverse.cpu();

        // The moved image keeps the moving image's intensities (not the normalised ones the network saw).
        var moved = SpatialTransformer.Warp(movingVox.reshape([1, 1, .. movingVox.shape]), forward)[0, 0];
        NiftiWriter.Write(Out("moved", "moved.nii.gz"), fixedImg.Like(moved.clone()));
        NiftiWriter.Write(Out("forward_field", "forward_field.nii.gz"), fixedImg.VectorFieldLike(DisplacementLayout.ToChannelsLast(forward)[0]));
        NiftiWriter.Write(Out("inverse_field", "inverse_field.nii.gz"), movingImg.VectorFieldLike(DisplacementLayout.ToChannelsLast(inverse)[0]));
        Tensor? movedLabels = null;
        if (movingLabels is not null)
        {
            movedLabels = SpatialTransformer.Warp(movingLabels.reshape([1, 1, .. movingLabels.shape]), forward, Interpolation.Nearest)[0, 0];
            NiftiWriter.Write(Out("moved_labels", "moved_labels.nii.gz"), fixedImg.Like(movedLabels.to(ScalarType.Int32), NiftiIntent.Label));
        }

        bool bothLabels = movingLabels is not null && fixedLabels is not null;
        var diceIds = bothLabels && o.DiceLabels is DiceLabelChoice choice ? choice.Resolve([movingLabels!, fixedLabels!]) : null;
        var eval = RegistrationEvaluation.Evaluate(forward, inverse, bothLabels ? movingLabels : null, bothLabels ? fixedLabels : null,
            labels: diceIds, movedLabels: bothLabels ? movedLabels : null);
        if (o.Overview) RegistrationOverview.Write(Out("overview", "overview.png"), fixedVox, movingVox, moved, forward);
        bool dice = !double.IsNaN(eval.MeanDice);
        var summary = new RegisterPairSummary(
            Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), Path.GetFullPath(o.WeightsPath),
            result.Seconds, total.Elapsed.TotalSeconds,
            eval.PercentNonPositiveJacobian, eval.StdLogJacobian, eval.InverseConsistencyError,
            dice ? eval.MeanDice : null, dice ? eval.MeanDiceBefore : null,
            dice ? eval.DicePerLabel.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value) : null,
            outputs)
        {
            Refinement = o.RefineSteps > 0 ? new RefinementSummary(o.RefineSteps, o.RefineLearningRate, reg.Refinement!.LossHistory[0], reg.Refinement!.LossHistory[^1]) : null,
        };
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "summary.json"), JsonSerializer.Serialize(summary, Json));
        return summary;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
