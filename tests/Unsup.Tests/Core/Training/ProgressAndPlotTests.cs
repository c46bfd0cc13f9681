using Unsup.Training;

namespace Unsup.Tests.Core.Training;

public class ProgressAndPlotTests
{
    [Fact]
    public void Plain_progress_prints_counts_rate_eta_and_values_and_quiet_prints_nothing()
    {
        var sw = new StringWriter();
        using (var p = new ProgressReporter("moco", total: 4, startStep: 0, ProgressMode.Plain, sw, interval: TimeSpan.Zero))
        {
            for (int s = 1; s <= 4; s++) { Thread.Sleep(2); p.Update(s, ("loss", 1.0 / s), ("acc", 0.5)); }
            p.Message("checkpoint saved");
        }
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("moco 1/4 25.0% ", lines[0]);
        Assert.Contains("it/s", lines[0]);
        Assert.Contains("ETA ", lines[0]);
        Assert.Contains("loss 1  acc 0.5", lines[0]);
        Assert.StartsWith("moco 4/4 100.0% ", lines[3]);
        Assert.Contains("ETA 0:00:00", lines[3]);
        Assert.Equal("checkpoint saved", lines[4]);

        var quiet = new StringWriter();
        using (var q = new ProgressReporter("x", 3, 0, ProgressMode.Quiet, quiet)) { q.Update(1, ("loss", 1)); q.Update(3); q.Message("hi"); }
        Assert.Equal("", quiet.ToString());
    }

    [Fact]
    public void Plain_progress_waits_for_the_interval_but_always_prints_the_last_step()
    {
        var sw = new StringWriter();
        using (var p = new ProgressReporter("t", total: 100, mode: ProgressMode.Plain, output: sw, interval: TimeSpan.FromHours(1)))
            for (int s = 1; s <= 100; s++) p.Update(s);
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);   // first step, then the final one
        Assert.StartsWith("t 100/100", lines[1]);
    }

    [Fact]
    public void Loss_plot_writes_a_png()
    {
        using var dir = TestData.Temp();
        var records = Enumerable.Range(1, 200).Select(s => new MetricsRecord(s, s / 50,
            new Dictionary<string, double> { ["loss"] = 2.0 / s + 0.1, ["acc"] = s == 100 ? double.NaN : 1 - 1.0 / s })).ToList();
        var png = Path.Combine(dir.Path, "plots", "loss.png");
        LossPlot.Write(png, records, ["loss", "acc"], title: "test", logY: true);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.True(bytes.Length > 5000, $"PNG only {bytes.Length} bytes");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(png)!, "*.tmp"));

        var metrics = Path.Combine(dir.Path, "metrics.jsonl");
        var log = new MetricsLog(metrics);
        foreach (var r in records) log.Append(r);
        var png2 = Path.Combine(dir.Path, "byepoch.png");
        LossPlot.WriteFromFile(metrics, png2, ["loss"], byEpoch: true);
        Assert.True(new FileInfo(png2).Length > 5000);
    }
}
