using Unsup.IO.Nifti;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>Reads a displacement field saved by `register` (or the official code): NIfTI X,Y,Z,1,3 or X,Y,Z,3 in voxels.</summary>
public static class DisplacementFile
{
    /// <returns>[1, 3, X, Y, Z] float32</returns>
    public static Tensor Read(string path)
    {
        using var img = NiftiReader.Read(path);
        return FromImage(img, path);
    }

    /// <summary>The field of an already-read vector image (<paramref name="path"/> names it in errors).</summary>
    public static Tensor FromImage(NiftiImage img, string path)
    {
        using var scope = NewDisposeScope();
        var f = img.ToFloat();
        if (f.dim() == 5 && f.shape[3] == 1) f = f.squeeze(3);
        if (f.dim() != 4 || f.shape[3] != 3)
            throw UnsupException.ForFile(path, $"is not a 3D displacement field (shape {RegistrationInputs.Shape(img.Shape)}; expected X,Y,Z,1,3 or X,Y,Z,3)");
        return DisplacementLayout.FromChannelsLast(f).MoveToOuterDisposeScope();
    }

    public static void CheckGrid(string fieldPath, Tensor field, string otherPath, long[] otherShape)
    {
        if (!field.shape.AsSpan(2).SequenceEqual(otherShape))
            throw UnsupException.ForFile(otherPath, $"shape {RegistrationInputs.Shape(otherShape)} differs from the field {fieldPath} ({RegistrationInputs.Shape(field.shape[2..])})");
    }
}
