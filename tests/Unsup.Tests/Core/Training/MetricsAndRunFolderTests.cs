using System.Text.Json;
using Unsup.Training;

namespace Unsup.Tests.Core.Training;

public class MetricsAndRunFolderTests
{
    [Fact]
    public void Metrics_append_read_truncate_and_survive_a_torn_last_line()
    {
        using var dir = TestData.Temp();
        var log = new MetricsLog(Path.Combine(dir.Path, "metrics.jsonl"));
        for (int s = 1; s <= 10; s++) log.Append(s, new Dictionary<string, double> { ["loss"] = 1.0 / s }, epoch: s / 4);
        log.Append(11, new Dictionary<string, double> { ["loss"] = double.NaN, ["acc"] = double.PositiveInfinity });
        File.AppendAllText(log.Path, "{\"step\":12,\"lo");   // killed mid-append

        var all = log.ReadAll();
        Assert.Equal(Enumerable.Range(1, 11).Select(i => (long)i), all.Select(r => r.Step));
        Assert.Equal(0.5, all[1].Get("loss"));
        Assert.Equal(2, all[9].Epoch);
        Assert.True(double.IsNaN(all[10].Values["loss"]));
        Assert.Equal(double.PositiveInfinity, all[10].Values["acc"]);
        Assert.Null(all[10].Epoch);

        Assert.Equal(6, log.TruncateAfter(6));   // 7..11 and the torn line
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), log.ReadAll().Select(r => r.Step));
        log.Append(7, new Dictionary<string, double> { ["loss"] = 0.1 });
        Assert.Equal(7, File.ReadAllLines(log.Path).Length);
        Assert.StartsWith("{\"step\":1,\"epoch\":0,\"loss\":1", File.ReadAllLines(log.Path)[0]);
    }

    public sealed record Cfg(string Name, int BatchSize, double Lr, int[] Milestones);

    [Fact]
    public void Run_folder_writes_config_reopens_it_and_refuses_to_overwrite_a_run()
    {
        using var dir = TestData.Temp();
        var root = Path.Combine(dir.Path, "runs", "moco-1");
        var cfg = new Cfg("moco", 256, 0.03, [120, 160]);
        var run = RunFolder.Create(root, cfg);
        Assert.True(Directory.Exists(run.CheckpointsDir));
        Assert.True(Directory.Exists(run.PlotsDir));
        var json = File.ReadAllText(run.ConfigPath);
        Assert.Contains("\n  \"batchSize\": 256", json);   // indented, camelCase

        var e = Assert.Throws<UnsupException>(() => RunFolder.Create(root, cfg));
        Assert.Contains("--resume", e.Message);

        var reopened = RunFolder.Open(root);
        var back = reopened.ReadConfig<Cfg>();
        Assert.Equal(cfg.Name, back.Name);
        Assert.Equal(cfg.Milestones, back.Milestones);

        reopened.WriteSummary(new { finalLoss = 0.25, top1 = double.NaN });
        using var doc = JsonDocument.Parse(File.ReadAllText(reopened.SummaryPath));
        Assert.Equal(0.25, doc.RootElement.GetProperty("finalLoss").GetDouble());

        var empty = Path.Combine(dir.Path, "empty");
        Directory.CreateDirectory(empty);
        e = Assert.Throws<UnsupException>(() => RunFolder.Open(empty));
        Assert.StartsWith(empty + ": ", e.Message);
        Assert.Contains("config.json", e.Message);
    }
}
