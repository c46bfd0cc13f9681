using System.Runtime;
using System.Globalization;
using System.Text.RegularExpressions;
using Unsup.IO;

namespace Unsup.Training;

/// <summary>
/// A run's checkpoints/ folder: step-000123.ckpt files, a "latest" pointer file naming the newest complete one,
/// and pruning to the last K (at least two, so a checkpoint damaged on disk has a predecessor to fall back on).
/// Every write is temp + rename, so after a kill at any moment the pointer names a complete checkpoint; leftover
/// temp files (".step-….tmp") are never taken for checkpoints.
/// </summary>
public sealed partial class CheckpointStore
{
    public const string PointerName = "latest";

    public CheckpointStore(string directory, int keep = 3)
    {
        if (keep < 2) throw new ArgumentOutOfRangeException(nameof(keep), "keep at least two checkpoints (the previous one is the fallback for a damaged latest)");
        Directory = directory;
        Keep = keep;
    }

    public string Directory { get; }
    /// <summary>How many checkpoints to keep; older ones are deleted after a successful save.</summary>
    public int Keep { get; }

    public string PathFor(long step) => Path.Combine(Directory, $"step-{step.ToString("D6", CultureInfo.InvariantCulture)}.ckpt");

    /// <summary>Writes the checkpoint for state.Step, points "latest" at it, prunes old ones. Returns its path.</summary>
    public string Save(TrainingState state)
    {
        var path = PathFor(state.Step);
        Checkpoint.Save(path, state);
        AtomicFile.WriteAllText(Path.Combine(Directory, PointerName), Path.GetFileName(path) + "\n");
        Prune(state.Step);
        // Serialising the optimizer state goes through tens of MB of byte arrays in .NET's large-object heap, which only
        // rare full collections free: without this a SYMNet run's resident memory rose by ~25 MB at each checkpoint.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
        return path;
    }

    /// <summary>Complete checkpoint files by step, oldest first (temp files excluded).</summary>
    public IReadOnlyList<(long Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var list = new List<(long, string)>();
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory, "step-*.ckpt"))
        {
            var m = StepFile().Match(Path.GetFileName(f));
            if (m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long s)) list.Add((s, f));
        }
        return list.OrderBy(x => x.Item1).ToList();
    }

    /// <summary>The checkpoint "latest" names, or (no pointer: killed between the first save and its pointer) the highest step; null when none.</summary>
    public string? Latest
    {
        get
        {
            var pointer = Path.Combine(Directory, PointerName);
            if (File.Exists(pointer))
            {
                var name = File.ReadAllText(pointer).Trim();
                var p = Path.Combine(Directory, name);
                if (StepFile().IsMatch(name) && File.Exists(p)) return p;
            }
            var all = List();
            return all.Count == 0 ? null : all[^1].Path;
        }
    }

    /// <summary>Restores the latest checkpoint into state; false (state untouched) when there is none.</summary>
    public bool TryRestoreLatest(TrainingState state) => RestoreNewestIntact(state) != null;

    /// <summary>
    /// Restores the newest checkpoint that passes its checksum: the one "latest" names, then the others newest
    /// first. A damaged one is reported through <paramref name="warn"/> (naming the file and the problem) and
    /// skipped; it is overwritten when training reaches its step again. Returns the path restored, or null (state
    /// untouched) when there is no checkpoint. When every checkpoint is damaged, the newest one's error is thrown:
    /// silently restarting a long run from step 0 would lose more than it saves.
    /// </summary>
    public string? RestoreNewestIntact(TrainingState state, Action<string>? warn = null)
    {
        var latest = Latest;
        if (latest == null) return null;
        var candidates = new List<string> { latest };
        candidates.AddRange(List().Select(c => c.Path).Reverse().Where(p => p != latest));
        UnsupException? first = null;
        foreach (var path in candidates)
        {
            CheckpointData data;
            try { data = Checkpoint.Read(path); }
            catch (UnsupException e)
            {
                first ??= e;
                warn?.Invoke($"warning: {e.Message}; skipping it");
                continue;
            }
            // a checkpoint that reads but does not fit the model is a configuration error, not damage: no fallback
            using (data) data.ApplyTo(state);
            if (path != latest) warn?.Invoke($"warning: resuming from the previous checkpoint {path} (step {state.Step})");
            return path;
        }
        throw new UnsupException($"{first!.Message}; no intact checkpoint in {Directory} to resume from", first);
    }

    void Prune(long current)
    {
        var all = List();
        // checkpoints beyond the current step belong to an abandoned future (resumed from an earlier one): drop them too
        var old = all.Where(c => c.Step > current).Concat(all.Where(c => c.Step <= current).SkipLast(Keep));
        foreach (var (_, p) in old)
        {
            try { File.Delete(p); } catch (IOException) { /* pruning is best effort */ }
        }
    }

    [GeneratedRegex(@"^step-(\d+)\.ckpt$")]
    private static partial Regex StepFile();
}
