using System.Text.Json;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Affine;
using Unsup.Registration.Geometry;
using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

public sealed record AffineJobOptions
{
    public required string FixedPath { get; init; }
    public required string MovingPath { get; init; }
    public required string OutDir { get; init; }
    public string? FixedMaskPath { get; init; }
    public string? MovingMaskPath { get; init; }
    public string? MovingLabelsPath { get; init; }
    public string? FixedLabelsPath { get; init; }
    public AffineOptions Affine { get; init; } = new();
}

/// <summary>Summary of `unsup affine` (summary.json): the world transform (RAS, fixed → moving), its time and Dice with labels.</summary>
public sealed record AffineJobSummary(string Fixed, string Moving, double Seconds, double[][] FixedToMovingRas, double[] CentreRas,
    double? MeanDice, double? MeanDiceBefore, IReadOnlyDictionary<string, string> Outputs);

/// <summary>
/// `unsup affine`: affine registration alone. Writes moved.nii.gz (the moving image on the fixed grid), affine_itk.txt
/// (ITK/ANTs), transformix_affine.txt (elastix), moved_labels.nii.gz with --moving-labels and summary.json.
/// </summary>
public static class AffineJob
{
    public static AffineJobSummary Run(AffineJobOptions o)
    {
        using var scope = NewDisposeScope();
        var (fixedImg, fixedVox) = RegistrationInputs.ReadImage(o.FixedPath);
        using var _f = fixedImg;
        var (movingImg, movingVox) = RegistrationInputs.ReadImage(o.MovingPath);
        using var _m = movingImg;
        var fixedGeom = VolumeGeometry.Of(fixedImg, o.FixedPath);
        var movingGeom = VolumeGeometry.Of(movingImg, o.MovingPath);
        var fixedIn = o.FixedMaskPath is null ? fixedVox : fixedVox * RegistrationInputs.ReadMask(o.FixedMaskPath, o.FixedPath, fixedImg);
        var movingIn = o.MovingMaskPath is null ? movingVox : movingVox * RegistrationInputs.ReadMask(o.MovingMaskPath, o.MovingPath, movingImg);
        var movingLabels = o.MovingLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.MovingLabelsPath, movingVox.shape);
        var fixedLabels = o.FixedLabelsPath is null ? null : RegistrationInputs.ReadLabels(o.FixedLabelsPath, fixedVox.shape);
        Directory.CreateDirectory(o.OutDir);

        var a = AffineRegistration.Register(fixedIn, fixedGeom, movingIn, movingGeom, o.Affine);
        var outputs = new Dictionary<string, string>();
        string Out(string key, string name) => outputs[key] = Path.Combine(o.OutDir, name);
        // fixed voxels → fixed world → moving world → moving voxels
        var toMovingVoxels = Matrix4.Multiply(Matrix4.Inverse(movingGeom.Affine), Matrix4.Multiply(a.FixedToMoving, fixedGeom.Affine));
        VolumeFile.Write(Out("moved", "moved.nii.gz"), fixedImg.Like(WorldResampler.SampleAffine(movingVox, toMovingVoxels, fixedGeom.Shape)));
        ItkTransformFiles.WriteAffine(Out("affine_itk", "affine_itk.txt"), a.FixedToMoving, a.Centre);
        ItkTransformFiles.WriteElastixAffine(Out("transformix", "transformix_affine.txt"), a.FixedToMoving, a.Centre, fixedImg);
        ItkTransformFiles.WriteElastixAffine(Out("transformix_labels", "transformix_affine_labels.txt"), a.FixedToMoving, a.Centre, fixedImg, labels: true);
        double? dice = null, before = null;
        if (movingLabels is not null)
        {
            var moved = WorldResampler.SampleAffine(movingLabels, toMovingVoxels, fixedGeom.Shape);
            VolumeFile.Write(Out("moved_labels", "moved_labels.nii.gz"), fixedImg.Like(moved.to(ScalarType.Int32), NiftiIntent.Label));
            if (fixedLabels is not null)
            {
                var ids = Dice.Labels(fixedLabels);
                dice = Dice.Mean(moved, fixedLabels, ids);
                var asIs = WorldResampler.SampleAffine(movingLabels, Matrix4.Multiply(Matrix4.Inverse(movingGeom.Affine), fixedGeom.Affine), fixedGeom.Shape);
                before = Dice.Mean(asIs, fixedLabels, ids);
            }
        }
        var m = Enumerable.Range(0, 4).Select(i => Enumerable.Range(0, 4).Select(j => a.FixedToMoving[i, j]).ToArray()).ToArray();
        var summary = new AffineJobSummary(Path.GetFullPath(o.FixedPath), Path.GetFullPath(o.MovingPath), a.Seconds, m, a.Centre, dice, before, outputs);
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "summary.json"), JsonSerializer.Serialize(summary, RegisterPairJob.Json));
        return summary;
    }
}
