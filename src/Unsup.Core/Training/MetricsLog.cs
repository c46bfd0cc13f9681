using System.Globalization;
using System.Text;
using System.Text.Json;
using Unsup.IO;

namespace Unsup.Training;

/// <summary>One line of metrics.jsonl: {"step":12,"epoch":0,"loss":0.53,"lr":0.1}.</summary>
public sealed record MetricsRecord(long Step, long? Epoch, IReadOnlyDictionary<string, double> Values)
{
    public double? Get(string name) => Values.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// metrics.jsonl: one JSON object per line, appended and flushed per record so a killed run loses at most the
/// line being written. Non-finite values are written as the strings "NaN", "Infinity", "-Infinity".
/// </summary>
public sealed class MetricsLog
{
    public MetricsLog(string path) { Path = path; }

    public string Path { get; }

    public void Append(long step, IReadOnlyDictionary<string, double> values, long? epoch = null) => Append(new MetricsRecord(step, epoch, values));

    public void Append(MetricsRecord record)
    {
        var line = Format(record) + "\n";
        try
        {
            using var fs = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
            fs.Write(Encoding.UTF8.GetBytes(line));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(Path, $"cannot append metrics ({e.Message})", e); }
    }

    /// <summary>All complete records; a torn line (the run was killed mid-append) is skipped.</summary>
    public IReadOnlyList<MetricsRecord> ReadAll() => Read(Path);

    public static IReadOnlyList<MetricsRecord> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var list = new List<MetricsRecord>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (TryParse(line, out var r)) list.Add(r);
        }
        return list;
    }

    /// <summary>
    /// On resume: keeps only records with step ≤ <paramref name="step"/> (the checkpoint's), so the steps the
    /// resumed run repeats are not logged twice. Rewrites the file atomically; returns how many lines went.
    /// </summary>
    public int TruncateAfter(long step)
    {
        if (!File.Exists(Path)) return 0;
        var lines = File.ReadAllLines(Path);
        var keep = new StringBuilder();
        int dropped = 0;
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (TryParse(line, out var r) && r.Step <= step) keep.Append(line).Append('\n');
            else dropped++;
        }
        AtomicFile.WriteAllText(Path, keep.ToString());
        return dropped;
    }

    public static string Format(MetricsRecord r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("step", r.Step);
            if (r.Epoch is long e) w.WriteNumber("epoch", e);
            foreach (var (k, v) in r.Values)
            {
                if (k is "step" or "epoch") throw new ArgumentException($"metric name '{k}' is reserved");
                if (double.IsFinite(v)) w.WriteNumber(k, v);
                else w.WriteString(k, v.ToString(CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    static bool TryParse(string line, out MetricsRecord record)
    {
        record = null!;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("step", out var s) || !s.TryGetInt64(out long step)) return false;
            long? epoch = root.TryGetProperty("epoch", out var e) && e.TryGetInt64(out long ev) ? ev : null;
            var values = new Dictionary<string, double>();
            foreach (var p in root.EnumerateObject())
            {
                if (p.Name is "step" or "epoch") continue;
                if (p.Value.ValueKind == JsonValueKind.Number) values[p.Name] = p.Value.GetDouble();
                else if (p.Value.ValueKind == JsonValueKind.String && double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) values[p.Name] = d;
            }
            record = new MetricsRecord(step, epoch, values);
            return true;
        }
        catch (JsonException) { return false; }
    }
}
