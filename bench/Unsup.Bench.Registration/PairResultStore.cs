using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Unsup.Bench.Registration;

/// <summary>One method on one pair.</summary>
public readonly record struct PairResult(double Dice, double Fold, double StdLogJ, double Seconds);

/// <summary>
/// Every finished (method, pair) measurement, appended to a file as it completes, so a benchmark of many hours
/// can stop and go on later (a killed run loses at most the pair in progress). A measurement is reused only when
/// its method key — which names everything the result depends on: parameter files, weights, steps — and the
/// benchmark's data key (pairs, grid, syntheses) are the same. Each line records the CPU it was timed on, so a
/// table whose timings come from more than one machine can say so.
/// </summary>
public sealed class PairResultStore
{
    readonly string path;
    readonly Dictionary<(string Method, string Pair), (PairResult Result, string Cpu)> done = [];
    /// <summary>The file ends in a line cut short: the next line must not continue it.</summary>
    bool cutShort;

    /// <param name="folder">where the store lives (the benchmark's work folder)</param>
    /// <param name="dataKey">everything that defines the pairs; a different key starts a different store</param>
    public PairResultStore(string folder, string dataKey)
    {
        Directory.CreateDirectory(folder);
        path = Path.Combine(folder, $"pair-results-{Hash(dataKey)}.tsv");
        if (!File.Exists(path)) return;
        using (var fs = File.OpenRead(path))
            if (fs.Length > 0) { fs.Seek(-1, SeekOrigin.End); cutShort = fs.ReadByte() != '\n'; }
        foreach (var line in File.ReadLines(path))
        {
            // a line cut short by a kill has fewer fields or does not parse: it is measured again
            var f = line.Split('\t');
            if (f.Length != 7) continue;
            if (!TryParse(f[2], out var dice) || !TryParse(f[3], out var fold) || !TryParse(f[4], out var std) || !TryParse(f[5], out var sec)) continue;
            done[(f[0], f[1])] = (new PairResult(dice, fold, std, sec), f[6]);
        }
    }

    public string FilePath => path;

    /// <summary>CPU models the reused and new timings of these methods were taken on.</summary>
    public IReadOnlyList<string> CpusOf(IEnumerable<string> methodKeys)
    {
        var keys = methodKeys.ToHashSet();
        return done.Where(kv => keys.Contains(kv.Key.Method)).Select(kv => kv.Value.Cpu).Distinct().Order().ToList();
    }

    /// <summary>The stored result of <paramref name="methodKey"/> on <paramref name="pair"/>, or <paramref name="measure"/>'s, stored at once.</summary>
    public PairResult GetOrMeasure(string methodKey, string pair, Func<PairResult> measure, out bool reused)
    {
        if (methodKey.Contains('\t') || methodKey.Contains('\n') || pair.Contains('\t'))
            throw new ArgumentException("method keys and pair names cannot hold tabs or line breaks");
        reused = done.TryGetValue((methodKey, pair), out var hit);
        if (reused) return hit.Result;
        var r = measure();
        string cpu = CurrentCpu();
        string line = string.Join('\t', methodKey, pair, Fmt(r.Dice), Fmt(r.Fold), Fmt(r.StdLogJ), Fmt(r.Seconds), cpu) + "\n";
        File.AppendAllText(path, cutShort ? "\n" + line : line);
        cutShort = false;
        done[(methodKey, pair)] = (r, cpu);
        return r;
    }

    /// <summary>The CPU model name from /proc/cpuinfo ("?" elsewhere).</summary>
    public static string CurrentCpu() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim().Replace('\t', ' ') ?? "?"
            : "?";

    /// <summary>A short stable hash of a text (file names, keys).</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    /// <summary>A key part that changes whenever the file's content does.</summary>
    public static string FileKey(string file)
    {
        if (File.Exists(file)) return $"{Path.GetFileName(file)}:{Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))[..16]}";
        if (!Directory.Exists(file)) return $"{file}:missing";
        // a run folder given as weights: its files' sizes and times stand for its content
        var listing = Directory.GetFiles(file, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(file, f)}:{new FileInfo(f).Length}:{File.GetLastWriteTimeUtc(f).Ticks}");
        return $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(file))}/:{Hash(string.Join("\n", listing))}";
    }

    static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static bool TryParse(string s, out double v) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v);
}
