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
    /// <summary>Refinement's NCC terms on images blurred by this Gaussian sigma in voxels (<see cref="Losses.SymNetLoss.SimilarityBlur"/>; 0 = the training loss).</summary>
    public double RefineSimilarityBlur { get; init; }
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
/// This class reads and checks the inputs and picks the path: <see cref="SameGridPairRegistration"/> (the official
/// inference on one grid) or <see cref="WorldPairRegistration"/> (different grids or an affine step).
/// </summary>
public static class RegisterPairJob
{
    public static RegisterPairSummary Run(RegisterPairOptions o)
    {
        var total = System.Diagnostics.Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        // weights first: a wrong --model fails before any image is read or folder made
        using var reg = SymNetRegistration.FromWeights(o.WeightsPath, o.Device);
        if (!(o.RefineSimilarityBlur >= 0) || !double.IsFinite(o.RefineSimilarityBlur))
            throw new UnsupException($"--refine-blur {o.RefineSimilarityBlur}: must be a finite number ≥ 0");
        using var refine = new PairRefinement(o.RefineSteps, o.RefineLearningRate, new Losses.SymNetLoss(3) { SimilarityBlur = o.RefineSimilarityBlur });
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
        // Same shape and either the same world placement or none at all (nothing to resample by): the same-grid path.
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
        bool createdFolder = false;
        if (!Directory.Exists(o.OutDir))
        {
            try { Directory.CreateDirectory(o.OutDir); createdFolder = true; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw UnsupException.ForFile(o.OutDir, $"cannot create the output folder ({e.Message})", e); }
        }
        var pair = new PairInputs(o, reg, fixedImg, movingImg, fixedVox, movingVox, fixedIn, movingIn, fixedLabels, movingLabels, total);
        try
        {
            var summary = sameGrid && !affine
                ? SameGridPairRegistration.Run(pair)
                : WorldPairRegistration.Run(pair, fixedGeom!, movingGeom!, affine);
            AtomicFile.WriteAllText(Path.Combine(o.OutDir, "summary.json"), JsonSerializer.Serialize(summary, Json));
            return summary;
        }
        catch (NonFiniteFieldException) when (createdFolder && !Directory.EnumerateFileSystemEntries(o.OutDir).Any())
        {
            Directory.Delete(o.OutDir);   // the folder this run made holds nothing: leave no trace of the failed run
            throw;
        }
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
