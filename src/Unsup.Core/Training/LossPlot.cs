using ScottPlot;
using Unsup.IO;

namespace Unsup.Training;

/// <summary>Line plots of metrics (loss, accuracy, lr...) against step or epoch, as PNG via ScottPlot.</summary>
public static class LossPlot
{
    /// <param name="series">Metric names; records without a value (or with a non-finite one) are skipped.</param>
    /// <param name="byEpoch">X axis is the epoch (records without one are skipped) instead of the step.</param>
    /// <param name="logY">Plot log10 of the values (losses spanning decades).</param>
    public static void Write(string pngPath, IReadOnlyList<MetricsRecord> records, IReadOnlyList<string> series,
                             string? title = null, bool byEpoch = false, bool logY = false, int width = 900, int height = 500)
    {
        if (series.Count == 0) throw new ArgumentException("name at least one metric to plot", nameof(series));
        var plot = new Plot();
        bool any = false;
        foreach (var name in series)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (var r in records)
            {
                if (!r.Values.TryGetValue(name, out var v) || !double.IsFinite(v)) continue;
                if (logY && v <= 0) continue;
                double? x = byEpoch ? r.Epoch : r.Step;
                if (x is not double xv) continue;
                xs.Add(xv);
                ys.Add(logY ? Math.Log10(v) : v);
            }
            if (xs.Count == 0) continue;
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LegendText = name;
            line.LineWidth = 1.5f;
            any = true;
        }
        if (!any) plot.Add.Annotation("no finite values yet");
        plot.XLabel(byEpoch ? "epoch" : "step");
        plot.YLabel(logY ? "log10(value)" : series.Count == 1 ? series[0] : "value");
        if (title != null) plot.Title(title);
        if (series.Count > 1) plot.ShowLegend();
        AtomicFile.WriteAllBytes(pngPath, plot.GetImageBytes(width, height, ImageFormat.Png));
    }

    /// <summary>Reads metrics.jsonl and plots it.</summary>
    public static void WriteFromFile(string metricsPath, string pngPath, IReadOnlyList<string> series,
                                     string? title = null, bool byEpoch = false, bool logY = false)
        => Write(pngPath, MetricsLog.Read(metricsPath), series, title, byEpoch, logY);
}
