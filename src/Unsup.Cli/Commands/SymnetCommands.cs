using System.CommandLine;
using Spectre.Console;
using Unsup.Registration.IO;

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

    /// <summary>--model given (checked when loaded), else the official pretrained weights through the data resolution.</summary>
    static string ResolveWeights(ParseResult r, string? model) =>
        model ?? DataLocations.Resolve(r, "symnet-oasis-weights").Files[0];

    static Command Register()
    {
        var fixedOpt = new Option<string>("--fixed") { Description = "Fixed (target) image, NIfTI", Required = true };
        var movingOpt = new Option<string>("--moving") { Description = "Moving (source) image on the same grid, NIfTI", Required = true };
        var model = new Option<string?>("--model") { Description = "SYMNet weights: a .pth state_dict, an Unsup .ckpt or a run folder of `symnet train` (its latest checkpoint); the network width comes from the weights. Default: the official neurite-OASIS weights" };
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
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --model runs/symnet-2mm --out reg/\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --moving-labels B_seg.nii.gz --fixed-labels A_seg.nii.gz --out reg/")
        { fixedOpt, movingOpt, model, outDir, movingLabels, fixedLabels, noOverview };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            if (r.GetValue(fixedLabels) is not null && r.GetValue(movingLabels) is null)
                throw new UnsupException("--fixed-labels needs --moving-labels (Dice compares the warped moving labels with the fixed ones)");
            Unsup.IO.OutputCheck.ForFolder(r.GetValue(outDir)!);
            var s = RegisterPairJob.Run(new RegisterPairOptions
            {
                FixedPath = r.GetValue(fixedOpt)!, MovingPath = r.GetValue(movingOpt)!, WeightsPath = ResolveWeights(r, r.GetValue(model)),
                OutDir = r.GetValue(outDir)!, MovingLabelsPath = r.GetValue(movingLabels), FixedLabelsPath = r.GetValue(fixedLabels),
                Device = device, Overview = !r.GetValue(noOverview),
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
            WarpJob.Run(r.GetValue(field)!, r.GetValue(image)!, r.GetValue(outPath)!, r.GetValue(labels));
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
            List<EvalPair> rows;
            if (r.GetValue(pairs) is string pairsPath) rows = EvalJob.ReadPairs(pairsPath);
            else if (r.GetValue(field) is string f) rows = [new EvalPair(f, r.GetValue(inverse), r.GetValue(movingLabels), r.GetValue(fixedLabels))];
            else throw new UnsupException("give --field (one pair) or --pairs CSV (many pairs)");
            long[]? ids = r.GetValue(labelIds)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => long.TryParse(s, out var v) ? v : throw new UnsupException($"--label-ids: '{s}' is not an integer")).ToArray();

            var outCsv = r.GetValue(csv);
            var results = EvalJob.Run(rows, ids, outCsv);
            var table = new Table().Border(TableBorder.Simple).AddColumns("field", "mean Dice", "before", "% det J <= 0", "std log det J", "ICE (vox)");
            foreach (var (p, e) in results) table.AddRow([Markup.Escape(p.Field), .. EvalJob.Columns(e)]);
            AnsiConsole.Write(table);
            if (outCsv is not null) Console.WriteLine($"wrote {outCsv}");
            return 0;
        });
        return cmd;
    }
}
