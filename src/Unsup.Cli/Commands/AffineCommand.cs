using System.CommandLine;
using Spectre.Console;
using Unsup.Registration.Affine;
using Unsup.Registration.IO;

namespace Unsup.Cli.Commands;

/// <summary>`unsup affine`: 12-parameter affine registration of two volumes on any grids.</summary>
public static class AffineCommand
{
    public static Command Create()
    {
        var fixedOpt = new Option<string>("--fixed") { Description = "Fixed (target) image: NIfTI or MGZ with an orientation in its header", Required = true };
        var movingOpt = new Option<string>("--moving") { Description = "Moving (source) image, any grid", Required = true };
        var outDir = new Option<string>("--out") { Description = "Output folder", Required = true };
        var fixedMask = new Option<string?>("--fixed-mask") { Description = "Mask of the fixed image (same grid): voxels outside are ignored" };
        var movingMask = new Option<string?>("--moving-mask") { Description = "Mask of the moving image (same grid)" };
        var movingLabels = new Option<string?>("--moving-labels") { Description = "Label map of the moving image: resampled with nearest neighbour" };
        var fixedLabels = new Option<string?>("--fixed-labels") { Description = "Label map of the fixed image: with --moving-labels, mean Dice" };
        var metric = new Option<AffineMetric>("--metric") { Description = "localncc (same contrast) or mutualinformation (any contrast)", DefaultValueFactory = _ => AffineMetric.LocalNcc };
        var levels = new Option<string?>("--levels") { Description = "Resolution levels in mm, coarse to fine, e.g. 6,3 (default)" };
        var cmd = new Command("affine",
            "Affine registration (centre of mass, rigid, then 12 parameters; coarse to fine; Adam through grid_sample) in world coordinates. " +
            "Writes moved.nii.gz on the fixed grid, affine_itk.txt (ITK/ANTs, LPS), transformix_affine.txt (elastix) and summary.json.\n\n" +
            "Examples:\n  unsup affine --fixed A.nii.gz --moving B.mgz --out aff/\n" +
            "  unsup affine --fixed A.nii.gz --moving B.nii.gz --metric mutualinformation --levels 8,4,2 --out aff/")
        { fixedOpt, movingOpt, outDir, fixedMask, movingMask, movingLabels, fixedLabels, metric, levels };
        cmd.SetAction(r =>
        {
            GlobalOptions.Apply(r);
            var opts = new AffineOptions { Metric = r.GetValue(metric) };
            if (r.GetValue(levels) is string l)
            {
                var mm = l.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new UnsupException($"--levels: '{s}' is not a positive number of mm")).ToArray();
                if (mm.Length == 0) throw new UnsupException("--levels: give at least one level, e.g. 6,3");
                opts = opts with { LevelsMm = mm, AffineIterations = [.. mm.Select((_, i) => i == 0 ? 80 : 40)] };
            }
            var s = AffineJob.Run(new AffineJobOptions
            {
                FixedPath = r.GetValue(fixedOpt)!, MovingPath = r.GetValue(movingOpt)!, OutDir = r.GetValue(outDir)!,
                FixedMaskPath = r.GetValue(fixedMask), MovingMaskPath = r.GetValue(movingMask),
                MovingLabelsPath = r.GetValue(movingLabels), FixedLabelsPath = r.GetValue(fixedLabels), Affine = opts,
            });
            var t = new Table().Border(TableBorder.Simple).AddColumns("", "").HideHeaders();
            t.AddRow("affine", $"{s.Seconds:F1} s");
            if (s.MeanDice is double d) t.AddRow("mean Dice", $"{d:F4} (before {s.MeanDiceBefore:F4})");
            foreach (var (k, v) in s.Outputs) t.AddRow(Markup.Escape(k), Markup.Escape(v));
            AnsiConsole.Write(t);
            return 0;
        });
        return cmd;
    }
}
