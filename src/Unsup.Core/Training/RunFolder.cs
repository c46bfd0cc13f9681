using System.Text.Json;
using System.Text.Json.Serialization;
using Unsup.IO;

namespace Unsup.Training;

/// <summary>
/// One training run on disk: config.json, metrics.jsonl, checkpoints/, plots/, summary.json.
/// <see cref="Create"/> starts a run (refusing to overwrite one), <see cref="Open"/> reopens it for --resume.
/// </summary>
public sealed class RunFolder
{
    public const string ConfigFile = "config.json";

    /// <summary>Indented camelCase JSON; NaN/Infinity allowed (a diverged loss still gets reported).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    RunFolder(string root, int keepCheckpoints)
    {
        Root = Path.GetFullPath(root);
        Checkpoints = new CheckpointStore(CheckpointsDir, keepCheckpoints);
        Metrics = new MetricsLog(MetricsPath);
    }

    public string Root { get; }
    public string ConfigPath => Path.Combine(Root, ConfigFile);
    public string MetricsPath => Path.Combine(Root, "metrics.jsonl");
    public string SummaryPath => Path.Combine(Root, "summary.json");
    public string CheckpointsDir => Path.Combine(Root, "checkpoints");
    public string PlotsDir => Path.Combine(Root, "plots");
    public CheckpointStore Checkpoints { get; }
    public MetricsLog Metrics { get; }

    /// <summary>runs/&lt;name&gt; under the current folder (the default when no --out is given).</summary>
    public static string DefaultPath(string name) => Path.Combine("runs", name);

    public string PlotPath(string name) => Path.Combine(PlotsDir, name.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? name : name + ".png");

    /// <summary>Starts a run in <paramref name="root"/> (created if needed; may exist if it holds no run yet).</summary>
    public static RunFolder Create(string root, object config, int keepCheckpoints = 3)
    {
        var run = new RunFolder(root, keepCheckpoints);
        // an empty checkpoints/ without config.json is what a kill right after starting leaves: not yet a run
        if (File.Exists(run.ConfigPath) || run.Checkpoints.List().Count > 0)
            throw UnsupException.ForFile(root, "already holds a training run; continue it with --resume, or choose another output folder");
        try
        {
            Directory.CreateDirectory(run.CheckpointsDir);
            Directory.CreateDirectory(run.PlotsDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(root, $"cannot create the run folder ({e.Message})", e); }
        AtomicFile.WriteAllText(run.ConfigPath, JsonSerializer.Serialize(config, config.GetType(), Json) + "\n");
        return run;
    }

    /// <summary>Reopens an existing run for --resume.</summary>
    public static RunFolder Open(string root, int keepCheckpoints = 3)
    {
        var run = new RunFolder(root, keepCheckpoints);
        if (!File.Exists(run.ConfigPath))
            throw UnsupException.ForFile(root, $"is not a training run ({ConfigFile} not found); start a new run without --resume");
        Directory.CreateDirectory(run.CheckpointsDir);
        Directory.CreateDirectory(run.PlotsDir);
        return run;
    }

    /// <summary>
    /// Deletes the temp files (AtomicFile's ".NAME.PID.ID.tmp") a killed process left in the run folder and its
    /// checkpoints. Only call it holding the run's lock: then no other process can be writing them. Returns the count.
    /// </summary>
    public int RemoveStaleTempFiles()
    {
        int removed = 0;
        foreach (var dir in new[] { Root, CheckpointsDir, PlotsDir }.Where(Directory.Exists))
            foreach (var f in Directory.EnumerateFiles(dir, ".*.tmp"))
            {
                try { File.Delete(f); removed++; } catch (IOException) { /* best effort: a temp file is never read */ }
            }
        return removed;
    }

    /// <summary>Create, or Open when resuming — the usual first line of a trainer.</summary>
    public static RunFolder CreateOrOpen(string root, object config, bool resume, int keepCheckpoints = 3)
        => resume ? Open(root, keepCheckpoints) : Create(root, config, keepCheckpoints);

    public T ReadConfig<T>()
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(ConfigPath), Json)
                ?? throw UnsupException.ForFile(ConfigPath, "is empty (null)");
        }
        catch (JsonException e) { throw UnsupException.ForFile(ConfigPath, $"is not a valid run configuration ({e.Message})", e); }
        catch (IOException e) { throw UnsupException.ForFile(ConfigPath, $"cannot read ({e.Message})", e); }
    }

    public void WriteSummary(object summary)
        => AtomicFile.WriteAllText(SummaryPath, JsonSerializer.Serialize(summary, summary.GetType(), Json) + "\n");

    /// <summary>
    /// The resume step: restores the latest checkpoint into <paramref name="state"/> (false when the run was
    /// killed before its first one: start from scratch) and drops metrics lines past its step.
    /// </summary>
    public bool Resume(TrainingState state) => Resume(state, null) != null;

    /// <summary>As <see cref="Resume(TrainingState)"/>, falling back past damaged checkpoints (each reported through
    /// <paramref name="warn"/>); returns the checkpoint restored, or null when starting from scratch.</summary>
    public string? Resume(TrainingState state, Action<string>? warn)
    {
        var restored = Checkpoints.RestoreNewestIntact(state, warn);
        Metrics.TruncateAfter(restored != null ? state.Step : 0);
        return restored;
    }
}
