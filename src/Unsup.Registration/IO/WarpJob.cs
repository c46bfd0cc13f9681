using Unsup.IO.Nifti;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// `unsup symnet warp`: applies a saved displacement field (e.g. register's forward_field.nii.gz) to an image
/// (trilinear) or a label map (nearest neighbour, integer output) on the field's grid, written with the field's header.
/// </summary>
public static class WarpJob
{
    public static void Run(string fieldPath, string imagePath, string outPath, bool labels)
    {
        using var scope = NewDisposeScope();
        using var fieldImg = NiftiReader.Read(fieldPath);   // read once: its header is the output's header too
        var f = DisplacementFile.FromImage(fieldImg, fieldPath);
        var spatial = f.shape[2..];
        NiftiImage output;
        if (labels)
        {
            var l = RegistrationInputs.ReadLabels(imagePath, spatial);
            var w = SpatialTransformer.Warp(l.reshape([1, 1, .. spatial]), f, Interpolation.Nearest)[0, 0];
            output = fieldImg.Like(w.to(ScalarType.Int32), NiftiIntent.Label);
        }
        else
        {
            var (img, vox) = RegistrationInputs.ReadImage(imagePath);
            using var _img = img;
            DisplacementFile.CheckGrid(fieldPath, f, imagePath, vox.shape);
            var w = SpatialTransformer.Warp(vox.reshape([1, 1, .. spatial]), f)[0, 0];
            output = fieldImg.Like(w.clone(), NiftiIntent.None);
        }
        using (output) NiftiWriter.Write(outPath, output);
    }
}
