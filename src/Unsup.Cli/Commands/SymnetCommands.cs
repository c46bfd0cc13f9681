using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration;
using Unsup.Registration.Io;
using static TorchSharp.torch;

namespace Unsup.Cli.Commands;

/// <summary>`unsup symnet ...`: fast symmetric diffeomorphic registration (Mok &amp; Chung, CVPR 2020).</summary>
public static class SymnetCommands
{
    public static Command Create()
    {
        var cmd = new Command("symnet", "SYMNet: fast symmetric diffeomorphic image registration (Mok & Chung, CVPR 2020)");
        cmd.Subcommands.Add(Register());
        cmd.Subcommands.Add(Warp());
        cmd.Subcommands.Add(Eval());
        cmd.Subcommands.Add(SymnetTrainCommand.Create());
        return cmd;
    }

    /// <summary>--model given, else the official pretrained weights through the data resolution.</summary>
    static string ResolveWeights(ParseResult r, string? model)
    {
        if (model != null)
        {
            if (!File.Exists(model)) throw UnsupException.ForFile(model, "weights file not found");
            return model;
        }
        return DataLocations.Resolve(r, "symnet-oasis-weights").Files[0];
    }

    static Command Register()
    {
        var fixedOpt = new Option<string>("--fixed") { Description = "Fixed (target) image, NIfTI", Required = true };
        var movingOpt = new Option<string>("--moving") { Description = "Moving (source) image on the same grid, NIfTI", Required = true };
        var model = new Option<string?>("--model") { Description = "SYMNet weights (.pth state_dict or a checkpoint); default: the official neurite-OASIS weights" };
        var channels = new Option<int>("--start-channels") { Description = "Start channels C of the model", DefaultValueFactory = _ => 7 };
        var outDir = new Option<string>("--out") { Description = "Output folder", Required = true };
        var movingLabels = new Option<string?>("--moving-labels") { Description = "Label map of the moving image: warped with nearest neighbour" };
        var fixedLabels = new Option<string?>("--fixed-labels") { Description = "Label map of the fixed image: with --moving-labels, Dice per label" };
        var noOverview = new Option<bool>("--no-overview") { Description = "Skip the overview PNG" };
        var cmd = new Command("register",
            "Register a moving image onto a fixed one. Writes moved.nii.gz (with the fixed image's header), forward_field.nii.gz " +
            "(moving -> fixed) and inverse_field.nii.gz (fixed -> moving) as NIfTI vector images in voxels (channel 0 along the last " +
            "array axis, as the official code), moved_labels.nii.gz, summary.json (runtime, Dice, % det J <= 0, std log det J, " +
            "inverse consistency) and overview.png. Sizes that are not multiples of 16 are padded and cropped back.\n\n" +
            "Examples:\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --out reg/\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --moving-labels B_seg.nii.gz --fixed-labels A_seg.nii.gz --out reg/")
        { fixedOpt, movingOpt, model, channels, outDir, movingLabels, fixedLabels, noOverview };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            if (r.GetValue(fixedLabels) is not null && r.GetValue(movingLabels) is null)
                throw new UnsupException("--fixed-labels needs --moving-labels (Dice compares the warped moving labels with the fixed ones)");
            var s = RegisterPairJob.Run(new RegisterPairOptions
            {
                FixedPath = r.GetValue(fixedOpt)!, MovingPath = r.GetValue(movingOpt)!, WeightsPath = ResolveWeights(r, r.GetValue(model)),
                OutDir = r.GetValue(outDir)!, MovingLabelsPath = r.GetValue(movingLabels), FixedLabelsPath = r.GetValue(fixedLabels),
                StartChannels = r.GetValue(channels), Device = device, Overview = !r.GetValue(noOverview),
            });
            PrintSummary(s);
            return 0;
        });
        return cmd;
    }

    public static void PrintSummary(RegisterPairSummary s)
    {
        var t = new Table().Border(TableBorder.Simple).AddColumns("", "").HideHeaders();
        void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("registration", $"{s.SecondsRegistration:F1} s (total with I/O {s.SecondsTotal:F1} s)");
        Row("% det J <= 0", $"{s.PercentNonPositiveJacobian:F4} %");
        Row("std log det J", $"{s.StdLogJacobian:F4}");
        Row("inverse consistency", $"{s.InverseConsistencyError:F4} voxels");
        if (s.MeanDice is double d) Row("mean Dice", $"{d:F4} (before registration {s.MeanDiceBefore:F4}, {s.DicePerLabel!.Count} labels)");
        foreach (var (k, v) in s.Outputs) Row(k, v);
        AnsiConsole.Write(t);
    }

    static Command Warp()
    {
        var field = new Option<string>("--field") { Description = "Displacement field from `register` (forward_field.nii.gz: moving -> fixed)", Required = true };
        var image = new Option<string>("--image") { Description = "Image (or label map) on the moving grid", Required = true };
        var labels = new Option<bool>("--labels") { Description = "The image is a label map: nearest-neighbour, integer output" };
        var outPath = new Option<string>("--out") { Description = "Output NIfTI", Required = true };
        var cmd = new Command("warp", "Apply a saved displacement field to an image or a label map.\n\nExamples:\n" +
            "  unsup symnet warp --field reg/forward_field.nii.gz --image B_T2.nii.gz --out B_T2_moved.nii.gz\n" +
            "  unsup symnet warp --field reg/forward_field.nii.gz --image B_seg.nii.gz --labels --out B_seg_moved.nii.gz")
        { field, image, labels, outPath };
        cmd.SetAction(r =>
        {
            GlobalOptions.Apply(r);
            using var scope = NewDisposeScope();
            string fieldPath = r.GetValue(field)!, imagePath = r.GetValue(image)!;
            using var fieldImg = NiftiReader.Read(fieldPath);   // read once: its header is the output's header too
            var f = DisplacementFile.FromImage(fieldImg, fieldPath);
            var spatial = f.shape[2..];
            NiftiImage output;
            if (r.GetValue(labels))
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
            using (output) NiftiWriter.Write(r.GetValue(outPath)!, output);
            Console.WriteLine($"wrote {r.GetValue(outPath)}");
            return 0;
        });
        return cmd;
    }

    static Command Eval()
    {
        var field = new Option<string?>("--field") { Description = "Forward displacement field (moving -> fixed)" };
        var inverse = new Option<string?>("--inverse") { Description = "Inverse field, for the inverse-consistency error" };
        var movingLabels = new Option<string?>("--moving-labels") { Description = "Moving label map" };
        var fixedLabels = new Option<string?>("--fixed-labels") { Description = "Fixed label map" };
        var labelIds = new Option<string?>("--label-ids") { Description = "Comma-separated label ids for Dice (default: nonzero labels of the fixed map)" };
        var pairs = new Option<string?>("--pairs") { Description = "CSV with columns field,moving_labels,fixed_labels[,inverse] to evaluate many pairs" };
        var csv = new Option<string?>("--csv") { Description = "Write the per-pair metrics to this CSV" };
        var cmd = new Command("eval", "Metrics of saved fields: Dice per label and mean (with label maps), % voxels with det J <= 0, std log det J, inverse consistency.\n\n" +
            "Examples:\n" +
            "  unsup symnet eval --field reg/forward_field.nii.gz --inverse reg/inverse_field.nii.gz --moving-labels B_seg.nii.gz --fixed-labels A_seg.nii.gz\n" +
            "  unsup symnet eval --pairs pairs.csv --csv metrics.csv")
        { field, inverse, movingLabels, fixedLabels, labelIds, pairs, csv };
        cmd.SetAction(r =>
        {
            GlobalOptions.Apply(r);
            var rows = new List<(string Field, string? Inverse, string? Moving, string? Fixed)>();
            if (r.GetValue(pairs) is string pairsPath) rows.AddRange(ReadPairs(pairsPath));
            else if (r.GetValue(field) is string f) rows.Add((f, r.GetValue(inverse), r.GetValue(movingLabels), r.GetValue(fixedLabels)));
            else throw new UnsupException("give --field (one pair) or --pairs CSV (many pairs)");
            long[]? ids = r.GetValue(labelIds)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => long.TryParse(s, out var v) ? v : throw new UnsupException($"--label-ids: '{s}' is not an integer")).ToArray();

            var sb = new StringBuilder("field,mean_dice,mean_dice_before,percent_detj_nonpositive,std_log_detj,inverse_consistency\n");
            var table = new Table().Border(TableBorder.Simple).AddColumns("field", "mean Dice", "before", "% det J <= 0", "std log det J", "ICE (vox)");
            foreach (var (fp, inv, mv, fx) in rows)
            {
                using var scope = NewDisposeScope();
                var fwd = DisplacementFile.Read(fp);
                var spatial = fwd.shape[2..];
                var invT = inv is null ? null : DisplacementFile.Read(inv);
                var ml = mv is null ? null : RegistrationInputs.ReadLabels(mv, spatial);
                var fl = fx is null ? null : RegistrationInputs.ReadLabels(fx, spatial);
                if (ml is null != fl is null) throw new UnsupException($"{fp}: Dice needs both --moving-labels and --fixed-labels");
                var e = RegistrationEvaluation.Evaluate(fwd, invT, ml, fl, ids);
                string F(double v) => double.IsNaN(v) ? "" : v.ToString("G6", CultureInfo.InvariantCulture);
                sb.AppendLine($"{fp},{F(e.MeanDice)},{F(e.MeanDiceBefore)},{F(e.PercentNonPositiveJacobian)},{F(e.StdLogJacobian)},{F(e.InverseConsistencyError)}");
                table.AddRow(Markup.Escape(fp), F(e.MeanDice), F(e.MeanDiceBefore), F(e.PercentNonPositiveJacobian), F(e.StdLogJacobian), F(e.InverseConsistencyError));
            }
            AnsiConsole.Write(table);
            if (r.GetValue(csv) is string outCsv) { AtomicFile.WriteAllText(outCsv, sb.ToString()); Console.WriteLine($"wrote {outCsv}"); }
            return 0;
        });
        return cmd;
    }

    static IEnumerable<(string, string?, string?, string?)> ReadPairs(string path)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "not found");
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0) throw UnsupException.ForFile(path, "is empty");
        var head = lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToList();
        int fi = head.IndexOf("field"), mi = head.IndexOf("moving_labels"), xi = head.IndexOf("fixed_labels"), ii = head.IndexOf("inverse");
        if (fi < 0) throw UnsupException.ForFile(path, "needs a header line with a 'field' column (and moving_labels, fixed_labels, inverse)");
        string? Col(string[] c, int i) => i >= 0 && i < c.Length && c[i].Trim().Length > 0 ? c[i].Trim() : null;
        foreach (var line in lines.Skip(1))
        {
            var c = line.Split(',');
            yield return (Col(c, fi) ?? throw UnsupException.ForFile(path, $"a row has no field: '{line}'"), Col(c, ii), Col(c, mi), Col(c, xi));
        }
    }
}
