using System.Text.Json;
using Unsup.IO;
using Unsup.IO.Nifti;
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
}

/// <summary>Summary of one registered pair (written as summary.json).</summary>
public sealed record RegisterPairSummary(
    string Fixed, string Moving, string Weights, double SecondsRegistration, double SecondsTotal,
    double PercentNonPositiveJacobian, double StdLogJacobian, double InverseConsistencyError,
    double? MeanDice, double? MeanDiceBefore, IReadOnlyDictionary<string, double>? DicePerLabel,
    IReadOnlyDictionary<string, string> Outputs);

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
        if (reg.Model.Dims != 3)
            throw UnsupException.ForFile(o.WeightsPath, $"holds {reg.Model.Dims}D SYMNet weights; `symnet register` registers 3D volumes (use the library's SymNetRegistration for 2D images)");
        var (fixedImg, fixedVox) = RegistrationInputs.ReadImage(o.FixedPath);
        using var _f = fixedImg;
        var (movingImg, movingVox) = RegistrationInputs.ReadImage(o.MovingPath);
        using var _m = movingImg;
        RegistrationInputs.CheckIntensities(o.FixedPath, fixedVox);
        RegistrationInputs.CheckIntensities(o.MovingPath, movingVox);
        RegistrationInputs.CheckSameGrid(o.FixedPath, fixedVox, o.MovingPath, movingVox);
        var movingLabels = o.MovingLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.MovingLabelsPath, movingVox.shape);
        var fixedLabels = o.FixedLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.FixedLabelsPath, fixedVox.shape);
        if (!Directory.Exists(o.OutDir))
        {
            try { Directory.CreateDirectory(o.OutDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw UnsupException.ForFile(o.OutDir, $"cannot create the output folder ({e.Message})", e); }
        }

        using var result = reg.Register(fixedVox, movingVox);
        var forward = result.Forward.cpu(); var inverse = result.Inverse.cpu();
        // never write NaN fields silently (inputs are checked above; this catches a numerical fault in the network)
        if (!forward.isfinite().all().item<bool>() || !inverse.isfinite().all().item<bool>())
            throw new UnsupException($"registering {o.MovingPath} to {o.FixedPath} gave non-finite displacements (a numerical fault; nothing was written)");

        var outputs = new Dictionary<string, string>();
        string Out(string key, string name) => outputs[key] = Path.Combine(o.OutDir, name);

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
        var eval = RegistrationEvaluation.Evaluate(forward, inverse, bothLabels ? movingLabels : null, bothLabels ? fixedLabels : null,
            movedLabels: bothLabels ? movedLabels : null);
        if (o.Overview) RegistrationOverview.Write(Out("overview", "overview.png"), fixedVox, movingVox, moved, forward);
        bool dice = !double.IsNaN(eval.MeanDice);
        var summary = new RegisterPairSummary(
            Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), Path.GetFullPath(o.WeightsPath),
            result.Seconds, total.Elapsed.TotalSeconds,
            eval.PercentNonPositiveJacobian, eval.StdLogJacobian, eval.InverseConsistencyError,
            dice ? eval.MeanDice : null, dice ? eval.MeanDiceBefore : null,
            dice ? eval.DicePerLabel.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value) : null,
            outputs);
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "summary.json"), JsonSerializer.Serialize(summary, Json));
        return summary;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
