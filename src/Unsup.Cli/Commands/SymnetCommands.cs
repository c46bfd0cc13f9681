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
        var fixedOpt = new Option<string?>("--fixed") { Description = "Fixed (target) image, NIfTI or MGZ" };
        var movingOpt = new Option<string?>("--moving") { Description = "Moving (source) image: NIfTI or MGZ, on the fixed grid or any other grid with an orientation in its header" };
        var pairsOpt = new Option<string?>("--pairs") { Description = "Register many pairs: a CSV with a header naming fixed, moving (and optionally fixed_labels, moving_labels, name); each pair's outputs go to OUT/<name>/ and OUT/summary.csv gets one row per pair. Under mpiexec the list is split over the ranks" };
        var model = new Option<string?>("--model") { Description = "SYMNet weights: a .pth state_dict, an Unsup .ckpt or a run folder of `symnet train` (its latest checkpoint); the network width comes from the weights. Default: the official neurite-OASIS weights" };
        var outDir = new Option<string>("--out") { Description = "Output folder", Required = true };
        var movingLabels = new Option<string?>("--moving-labels") { Description = "Label map of the moving image: warped with nearest neighbour" };
        var fixedLabels = new Option<string?>("--fixed-labels") { Description = "Label map of the fixed image: with --moving-labels, Dice per label" };
        var noOverview = new Option<bool>("--no-overview") { Description = "Skip the overview PNG" };
        var fixedMask = new Option<string?>("--fixed-mask") { Description = "Brain mask of the fixed image (same grid; nonzero = brain): voxels outside are zeroed before registration. SYMNet was trained on skull-stripped brains" };
        var movingMask = new Option<string?>("--moving-mask") { Description = "Brain mask of the moving image (same grid as the moving image)" };
        var affine = new Option<AffineMode>("--affine") { Description = "Affine pre-alignment: auto (when the images are not on one grid), on, off", DefaultValueFactory = _ => AffineMode.Auto };
        var netSpacing = new Option<double>("--network-spacing") { Description = "Spacing (mm) of the network's grid when images are resampled: 1 for the official weights (160x192x224); 2 for a model trained with --downsample 2 (80x96x112)", DefaultValueFactory = _ => 1.0 };
        var refine = new Option<int>("--refine") { Description = "Per-pair refinement: N Adam steps on the network's two velocity fields with the training loss, for this pair only (the network is unchanged; 0 = the network's output)", DefaultValueFactory = _ => 0 };
        var refineLr = new Option<double>("--refine-lr") { Description = $"Adam rate of --refine, in voxels of velocity per step (default {Unsup.Registration.Model.PairRefinement.DefaultLearningRate})", DefaultValueFactory = _ => Unsup.Registration.Model.PairRefinement.DefaultLearningRate };
        var refineBlur = new Option<double>("--refine-blur") { Description = "Sigma in voxels of a Gaussian blur of both images before --refine's NCC terms (default 0 = the training loss). For images with strong voxel noise, such as synthesised ones, where NCC rewards sub-voxel smoothing", DefaultValueFactory = _ => 0.0 };
        var cmd = new Command("register",
            "Register a moving image onto a fixed one. Writes moved.nii.gz (with the fixed image's header), forward_field.nii.gz " +
            "(moving -> fixed) and inverse_field.nii.gz (fixed -> moving) as NIfTI vector images in voxels (channel 0 along the last " +
            "array axis, as the official code), moved_labels.nii.gz, summary.json (runtime, Dice, % det J <= 0, std log det J, " +
            "inverse consistency) and overview.png. Sizes that are not multiples of 16 are padded and cropped back.\n" +
            "Images on different grids (voxel size, orientation, field of view) are placed by their headers' world geometry, aligned affinely, " +
            "resampled into the network's 1 mm 160x192x224 LIA space and the results brought back onto the fixed image's grid; then also " +
            "forward_field_itk.nii.gz (ITK/ANTs displacement, mm, LPS), affine_itk.txt and transformix_field.txt (elastix) are written.\n\n" +
            "Examples:\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --out reg/\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --model runs/symnet-2mm --out reg/\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --moving-labels B_seg.nii.gz --fixed-labels A_seg.nii.gz --out reg/\n" +
            "  unsup symnet register --fixed A.nii.gz --moving B.nii.gz --refine 50 --out reg/\n" +
            "  mpiexec -n 4 ./unsup symnet register --pairs pairs.csv --out reg/")
        { fixedOpt, movingOpt, pairsOpt, model, outDir, movingLabels, fixedLabels, DiceLabelsOption, noOverview, fixedMask, movingMask, affine, netSpacing, refine, refineLr, refineBlur };
        cmd.SetAction(r =>
        {
            var device = GlobalOptions.Apply(r);
            if (r.GetValue(pairsOpt) is string list) return RegisterList(r, list, device, r.GetValue(model), r.GetValue(outDir)!, !r.GetValue(noOverview),
                r.GetValue(fixedOpt) ?? r.GetValue(movingOpt) ?? r.GetValue(fixedLabels) ?? r.GetValue(movingLabels));
            if (r.GetValue(fixedOpt) is null || r.GetValue(movingOpt) is null) throw new UnsupException("give --fixed and --moving (one pair) or --pairs LIST.csv (many pairs)");
            if (r.GetValue(fixedLabels) is not null && r.GetValue(movingLabels) is null)
                throw new UnsupException("--fixed-labels needs --moving-labels (Dice compares the warped moving labels with the fixed ones)");
            Unsup.IO.OutputCheck.ForFolder(r.GetValue(outDir)!);
            var s = RegisterPairJob.Run(new RegisterPairOptions
            {
                FixedPath = r.GetValue(fixedOpt)!, MovingPath = r.GetValue(movingOpt)!, WeightsPath = ResolveWeights(r, r.GetValue(model)),
                OutDir = r.GetValue(outDir)!, MovingLabelsPath = r.GetValue(movingLabels), FixedLabelsPath = r.GetValue(fixedLabels),
                Device = device, Overview = !r.GetValue(noOverview),
                FixedMaskPath = r.GetValue(fixedMask), MovingMaskPath = r.GetValue(movingMask), Affine = r.GetValue(affine),
                Network = r.GetValue(netSpacing) > 0 ? Unsup.Registration.Geometry.NetworkSpace.AtSpacing(r.GetValue(netSpacing)) : throw new UnsupException("--network-spacing must be a positive number of mm"),
                RefineSteps = r.GetValue(refine), RefineLearningRate = r.GetValue(refineLr), RefineSimilarityBlur = r.GetValue(refineBlur),
                DiceLabels = r.GetValue(DiceLabelsOption) is string dl ? Unsup.Registration.Metrics.DiceLabelChoice.Parse(dl) : null,
            });
            PrintSummary(s);
            return 0;
        });
        return cmd;
    }

    static int RegisterList(ParseResult r, string list, TorchSharp.torch.Device device, string? model, string outDir, bool overview, string? singlePairOption)
    {
        if (singlePairOption is not null) throw new UnsupException("--pairs takes the images and label maps from its CSV; drop --fixed, --moving and the label options");
        var result = RegisterPairsJob.Run(new RegisterPairsOptions
        {
            PairsCsv = list, WeightsPath = ResolveWeights(r, model), OutDir = outDir, Device = device, Overview = overview,
            Log = r.GetValue(GlobalOptions.Quiet) ? null : Console.Out,
        });
        Console.WriteLine($"registered {result.Pairs - result.Failed}/{result.Pairs} pairs; summary {result.SummaryCsv}");
        return result.Failed == 0 ? 0 : Cli.ExitError;
    }

    /// <summary>`--dice-labels` (register, eval; `symnet train` has its own with default auto).</summary>
    public static readonly Option<string?> DiceLabelsOption = new("--dice-labels")
    {
        Description = "Labels Dice averages over: auto (FreeSurfer evaluation structures when every map is a FreeSurfer segmentation, " +
                      "else every label present in all maps), freesurfer, all (every label in all maps) or a FILE of label ids. " +
                      "Default: every nonzero label of the fixed map",
    };

    public static void PrintSummary(RegisterPairSummary s)
    {
        var t = new Table().Border(TableBorder.Simple).AddColumns("", "").HideHeaders();
        void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("registration", $"{s.SecondsRegistration:F1} s (total with I/O {s.SecondsTotal:F1} s)");
        Row("geometry", s.Geometry + (s.SecondsAffine is double sa ? $" ({sa:F1} s affine)" : ""));
        Row("% det J <= 0", $"{s.PercentNonPositiveJacobian:F4} %");
        Row("std log det J", $"{s.StdLogJacobian:F4}");
        Row("inverse consistency", $"{s.InverseConsistencyError:F4} voxels");
        if (s.Refinement is { } rf) Row("refinement", $"{rf.Steps} Adam steps at {rf.LearningRate:G3}: loss {rf.LossBefore:F4} -> {rf.LossAfter:F4}");
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
        { field, inverse, movingLabels, fixedLabels, labelIds, DiceLabelsOption, pairs, csv };
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
            var choice = r.GetValue(DiceLabelsOption) is string dl ? Unsup.Registration.Metrics.DiceLabelChoice.Parse(dl) : null;
            var results = EvalJob.Run(rows, ids, outCsv, choice);
            var table = new Table().Border(TableBorder.Simple).AddColumns("field", "mean Dice", "before", "% det J <= 0", "std log det J", "ICE (vox)");
            foreach (var (p, e) in results) table.AddRow([Markup.Escape(p.Field), .. EvalJob.Columns(e)]);
            AnsiConsole.Write(table);
            if (outCsv is not null) Console.WriteLine($"wrote {outCsv}");
            return 0;
        });
        return cmd;
    }
}
