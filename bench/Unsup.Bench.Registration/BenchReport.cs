using System.Globalization;
using System.Text;
using ScottPlot;
using SkiaSharp;
using Unsup.IO;
using Unsup.Registration.Metrics;

namespace Unsup.Bench.Registration;

/// <summary>One method's per-pair results (lists may be empty when a figure does not apply, e.g. no det J without a transform).</summary>
/// <param name="Dice">mean Dice over labels, one value per pair</param>
/// <param name="FoldPercent">% voxels with det J &lt;= 0, one value per pair</param>
/// <param name="Seconds">wall seconds per pair</param>
/// <param name="StdLogJacobian">std of log det J over det J &gt; 0, one value per pair (null: none)</param>
/// <param name="Classical">a classical (optimisation-based, not learned) method: candidates for the reference row of the paired differences</param>
public sealed record BenchRow(string Method, IReadOnlyList<double> Dice, IReadOnlyList<double> FoldPercent,
                             IReadOnlyList<double> Seconds, string Note = "", IReadOnlyList<double>? StdLogJacobian = null,
                             bool Classical = false);

/// <summary>The bench/registration results: a Markdown table and a PNG chart, written atomically.</summary>
public static class BenchReport
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Mean and sample standard deviation (n - 1; 0 for one value) of the finite values; NaN, NaN if none.</summary>
    public static (double Mean, double Std, int Count) Summary(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return (double.NaN, double.NaN, 0);
        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return (mean, std, v.Length);
    }

    /// <summary>method | pairs | Dice mean ± std | % det J &lt;= 0 (mean) | s/pair (mean) | note.</summary>
    public static string Table(IReadOnlyList<BenchRow> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| method | pairs | Dice mean ± std | % det J <= 0 (mean) | s/pair (mean) | note |\n");
        sb.Append("|---|---:|---:|---:|---:|---|\n");
        foreach (var r in rows)
        {
            var dice = Summary(r.Dice);
            var fold = Summary(r.FoldPercent);
            var sec = Summary(r.Seconds);
            string diceText = dice.Count == 0 ? "–" : $"{F(dice.Mean, "0.000")} ± {F(dice.Std, "0.000")}";
            string foldText = fold.Count == 0 ? "–" : FoldText(fold.Mean);
            string secText = sec.Count == 0 ? "–" : SecondsText(sec.Mean);
            sb.Append($"| {Cell(r.Method)} | {r.Dice.Count} | {diceText} | {foldText} | {secText} | {Cell(r.Note)} |\n");
        }
        return sb.ToString();
    }

    /// <summary>The classical row with the highest mean Dice (null if there is none): the reference of <see cref="ComparisonTable"/>.</summary>
    public static BenchRow? BestClassical(IReadOnlyList<BenchRow> rows) =>
        rows.Where(r => r.Classical && Summary(r.Dice).Count > 0).OrderByDescending(r => Summary(r.Dice).Mean).FirstOrDefault();

    /// <summary>
    /// Means with 95 % bootstrap intervals and paired differences (row − reference, same pairs) with theirs:
    /// method | pairs | Dice [CI] | ΔDice [CI] | % det J &lt;= 0 [CI] | Δ% det J &lt;= 0 [CI] | std log det J | Δstd log det J [CI] | s/pair.
    /// </summary>
    public static string ComparisonTable(IReadOnlyList<BenchRow> rows, BenchRow reference, int resamples = PairedStatistics.DefaultResamples)
    {
        var sb = new StringBuilder();
        string refName = Cell(reference.Method);
        sb.Append($"| method | pairs | Dice [95 % CI] | ΔDice vs {refName} [95 % CI] | % det J <= 0 [95 % CI] | Δ% det J <= 0 [95 % CI] | std log det J | Δstd log det J [95 % CI] | s/pair |\n");
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        static string Mean(MeanInterval m, string fmt) => m.Count == 0 ? "–" : $"{F(m.Mean, fmt)} [{F(m.Low, fmt)}, {F(m.High, fmt)}]";
        string Diff(IReadOnlyList<double>? a, IReadOnlyList<double>? b, string fmt, BenchRow r) =>
            ReferenceEquals(r, reference) ? "(reference)"
            : a is null || b is null || a.Count == 0 || a.Count != b.Count ? "–"
            : Signed(PairedStatistics.PairedDifference(a, b, resamples), fmt);
        foreach (var r in rows)
        {
            var std = Summary(r.StdLogJacobian ?? []);
            var sec = Summary(r.Seconds);
            sb.Append($"| {Cell(r.Method)} | {r.Dice.Count} | {Mean(PairedStatistics.Bootstrap(r.Dice, resamples), "0.000")} | " +
                      $"{Diff(r.Dice, reference.Dice, "0.000", r)} | {Mean(PairedStatistics.Bootstrap(r.FoldPercent, resamples), "0.0000")} | " +
                      $"{Diff(r.FoldPercent, reference.FoldPercent, "0.0000", r)} | {(std.Count == 0 ? "–" : F(std.Mean, "0.000"))} | " +
                      $"{Diff(r.StdLogJacobian, reference.StdLogJacobian, "0.000", r)} | {(sec.Count == 0 ? "–" : SecondsText(sec.Mean))} |\n");
        }
        return sb.ToString();
    }

    static string Signed(MeanInterval m, string fmt) =>
        m.Count == 0 ? "–" : $"{(m.Mean >= 0 ? "+" : "")}{F(m.Mean, fmt)} [{F(m.Low, fmt)}, {F(m.High, fmt)}]";

    /// <summary>Writes an optional "# title" and preamble paragraph, then <see cref="Table"/> and an optional appendix, to <paramref name="path"/>.</summary>
    public static void WriteMarkdown(string path, IReadOnlyList<BenchRow> rows, string? title = null, string? preamble = null, string? appendix = null)
    {
        var sb = new StringBuilder();
        if (title != null) sb.Append($"# {title}\n\n");
        if (!string.IsNullOrWhiteSpace(preamble)) sb.Append(preamble.TrimEnd()).Append("\n\n");
        sb.Append(Table(rows));
        if (!string.IsNullOrWhiteSpace(appendix)) sb.Append('\n').Append(appendix.TrimEnd()).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>
    /// PNG with two panels side by side: mean Dice per method with ± std error bars, and mean seconds per pair
    /// on a log10 axis (methods span milliseconds to a minute). Methods without seconds are left out of the second panel.
    /// </summary>
    public static void WriteChart(string pngPath, IReadOnlyList<BenchRow> rows, string? title = null, int panelWidth = 600, int height = 450)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to plot", nameof(rows));
        var dicePlot = new Plot();
        var ticks = new List<Tick>();
        for (int i = 0; i < rows.Count; i++)
        {
            var s = Summary(rows[i].Dice);
            // long method names on two lines, so five categories fit under a 600-pixel panel
            ticks.Add(new Tick(i, rows[i].Method.Replace(", ", "\n").Replace(" affine", "\naffine")));
            if (s.Count == 0) continue;
            dicePlot.Add.Bar(new Bar
            {
                Position = i, Value = s.Mean, Error = s.Std, ErrorSize = 0.25,
                FillColor = Colors.Category10[i % Colors.Category10.Length],
            });
            var label = dicePlot.Add.Text(F(s.Mean, "0.000"), i, s.Mean + s.Std);
            label.LabelAlignment = Alignment.LowerCenter;
            label.LabelFontSize = 13;
        }
        SetCategories(dicePlot, ticks, rows.Count);
        dicePlot.Axes.SetLimitsY(0, 1.08);
        dicePlot.YLabel("mean Dice (± std over pairs)");
        dicePlot.Title(title ?? "registration: Dice");

        var timePlot = new Plot();
        bool anyTime = false;
        for (int i = 0; i < rows.Count; i++)
        {
            var s = Summary(rows[i].Seconds);
            if (s.Count == 0 || s.Mean <= 0) continue;
            // log axis = bars of log10(seconds) starting below the smallest value, with log tick labels
            timePlot.Add.Bar(new Bar
            {
                Position = i, Value = Math.Log10(s.Mean), ValueBase = -3,
                FillColor = Colors.Category10[i % Colors.Category10.Length],
            });
            var label = timePlot.Add.Text(SecondsText(s.Mean) + " s", i, Math.Log10(s.Mean));
            label.LabelAlignment = Alignment.LowerCenter;
            label.LabelFontSize = 13;
            anyTime = true;
        }
        if (!anyTime) timePlot.Add.Annotation("no timings");
        SetCategories(timePlot, ticks, rows.Count);
        var logTicks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("G3", Inv),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        timePlot.Axes.Left.TickGenerator = logTicks;
        double maxLog = rows.Select(r => Summary(r.Seconds)).Where(s => s.Count > 0 && s.Mean > 0)
                            .Select(s => Math.Log10(s.Mean)).DefaultIfEmpty(0).Max();
        timePlot.Axes.SetLimitsY(-3, Math.Max(1, Math.Ceiling(maxLog + 0.3)));
        timePlot.YLabel("seconds per pair (log scale)");
        timePlot.Title("time per pair");

        using var left = SKBitmap.Decode(dicePlot.GetImageBytes(panelWidth, height, ImageFormat.Png));
        using var right = SKBitmap.Decode(timePlot.GetImageBytes(panelWidth, height, ImageFormat.Png));
        using var surface = SKSurface.Create(new SKImageInfo(2 * panelWidth, height));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawBitmap(left, 0, 0);
        surface.Canvas.DrawBitmap(right, panelWidth, 0);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(pngPath, png.ToArray());
    }

    static void SetCategories(Plot plot, List<Tick> ticks, int count)
    {
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.SetLimitsX(-0.6, count - 0.4);
        plot.HideGrid();
    }

    static string F(double v, string format) => v.ToString(format, Inv);

    static string FoldText(double percent) => percent == 0 ? "0" : percent < 0.01 ? F(percent, "0.0e0") : F(percent, "0.00");

    static string SecondsText(double s) => s >= 10 ? F(s, "0") : s >= 1 ? F(s, "0.0") : s >= 0.01 ? F(s, "0.00") : F(s, "0.000");

    static string Cell(string text) => text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");
}
