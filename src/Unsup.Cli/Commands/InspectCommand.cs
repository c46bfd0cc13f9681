using System.CommandLine;

namespace Unsup.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A NIfTI (.nii/.nii.gz), NumPy (.npy/.npz), IDX, CIFAR/STL-10 binary or image file" };
        var cmd = new Command("inspect", "Print the header and a summary of a supported file: shape, dtype, voxel size and affine (NIfTI), value range, label values.\n\nExamples:\n  unsup inspect brain.nii.gz\n  unsup inspect features.npy") { file };
        cmd.SetAction((ParseResult r) =>
        {
            string path = r.GetValue(file)!;
            if (!File.Exists(path)) throw UnsupException.ForFile(path, "not found");
            throw UnsupException.ForFile(path, "unsupported file type");
#pragma warning disable CS0162
            return 0;
        });
        return cmd;
    }
}
