using System.CommandLine;
using Spectre.Console;
using Unsup.IO.Inspect;

namespace Unsup.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A NIfTI (.nii/.nii.gz), NumPy (.npy/.npz), IDX (plain or .gz) or image (PNG/JPEG/BMP/WebP) file" };
        var cmd = new Command("inspect",
            "Print the header and a summary of a supported file: shape, dtype, voxel size and affine (NIfTI), value range, label values.\n\n" +
            "Examples:\n  unsup inspect brain.nii.gz\n  unsup inspect features.npy\n  unsup inspect train-images-idx3-ubyte.gz") { file };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(file)!;
            var summary = FileInspector.Describe(path);
            var table = new Table().Border(TableBorder.Simple).AddColumns("", "").HideHeaders()
                .Title(Markup.Escape($"{path} — {summary.Kind}"));
            foreach (var (k, v) in summary.Lines) table.AddRow(Markup.Escape(k), Markup.Escape(v));
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
