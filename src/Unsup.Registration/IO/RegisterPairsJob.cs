using System.Globalization;
using System.Text;
using Unsup.Distributed;
using Unsup.IO;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>One row of a registration list: the images, optional label maps and the name of its output folder.</summary>
public sealed record RegistrationPair(string Fixed, string Moving, string? FixedLabels, string? MovingLabels, string Name);

public sealed record RegisterPairsOptions
{
    public required string PairsCsv { get; init; }
    public required string WeightsPath { get; init; }
    public required string OutDir { get; init; }
    public Device Device { get; init; } = CPU;
    public bool Overview { get; init; } = true;
    /// <summary>The ranks sharing the list (default <see cref="Communicator.World"/>: the whole list in one process without MPI).</summary>
    public Communicator? Comm { get; init; }
    public TextWriter? Log { get; init; }
}

/// <summary>What a batch registration did: the summary CSV (written by rank 0) and the per-pair counts.</summary>
public sealed record RegisterPairsResult(string SummaryCsv, int Pairs, int Failed);

/// <summary>
/// `unsup symnet register --pairs LIST.csv --out DIR`: every pair of the list registered as `symnet register` does one,
/// into DIR/&lt;name&gt;/. Under MPI pair i goes to rank i mod N; each rank's summary rows are gathered and rank 0 writes
/// DIR/summary.csv in list order. A pair whose input is bad (an UnsupException) gets its message in the error column and
/// the others continue; any other failure ends the job.
/// </summary>
public static class RegisterPairsJob
{
    public const string CsvHeader = "index,name,fixed,moving,out_dir,seconds,mean_dice,mean_dice_before,percent_detj_nonpositive,std_log_detj,inverse_consistency,rank,error";

    public static RegisterPairsResult Run(RegisterPairsOptions o)
    {
        var comm = o.Comm ?? Communicator.World;
        var pairs = ReadPairs(o.PairsCsv);
        var rows = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            if (!comm.Owns(i)) continue;
            var p = pairs[i];
            string dir = Path.Combine(o.OutDir, p.Name);
            string[] cols;
            try
            {
                var s = RegisterPairJob.Run(new RegisterPairOptions
                {
                    FixedPath = p.Fixed, MovingPath = p.Moving, WeightsPath = o.WeightsPath, OutDir = dir,
                    FixedLabelsPath = p.FixedLabels, MovingLabelsPath = p.MovingLabels, Device = o.Device, Overview = o.Overview,
                });
                cols = [F(s.SecondsTotal), F(s.MeanDice), F(s.MeanDiceBefore), F(s.PercentNonPositiveJacobian), F(s.StdLogJacobian), F(s.InverseConsistencyError), comm.Rank.ToString(CultureInfo.InvariantCulture), ""];
                o.Log?.WriteLine($"pair {i + 1}/{pairs.Count} {p.Name}: {s.SecondsTotal:F1} s{(s.MeanDice is double d ? $", Dice {d:F4}" : "")} (rank {comm.Rank})");
            }
            catch (UnsupException e)
            {
                failed++;
                cols = ["", "", "", "", "", "", comm.Rank.ToString(CultureInfo.InvariantCulture), Quote(e.Message)];
                o.Log?.WriteLine($"pair {i + 1}/{pairs.Count} {p.Name}: failed: {e.Message} (rank {comm.Rank})");
            }
            rows.Append(string.Join(",", [i.ToString(CultureInfo.InvariantCulture), Quote(p.Name), Quote(p.Fixed), Quote(p.Moving), Quote(dir), .. cols])).Append('\n');
        }
        var all = comm.AllgatherText(rows.ToString())
            .SelectMany(t => t.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .OrderBy(line => int.Parse(line[..line.IndexOf(',')], CultureInfo.InvariantCulture)).ToList();
        int[] failures = [failed];
        var totalFailed = new int[comm.Size];
        comm.Allgather(failures, totalFailed);
        string csv = Path.Combine(o.OutDir, "summary.csv");
        if (comm.IsRoot)
        {
            Directory.CreateDirectory(o.OutDir);
            AtomicFile.WriteAllText(csv, CsvHeader + "\n" + string.Concat(all.Select(l => l + "\n")));
        }
        return new RegisterPairsResult(csv, pairs.Count, totalFailed.Sum());
    }

    /// <summary>
    /// A header line naming the columns fixed and moving (required) and fixed_labels, moving_labels, name (optional);
    /// relative paths are relative to the list's folder. Names default to pair_0001, ... and must be unique.
    /// </summary>
    public static List<RegistrationPair> ReadPairs(string path)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "not found");
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')).ToList();
        if (lines.Count < 2) throw UnsupException.ForFile(path, "has no pairs (expected a header line 'fixed,moving[,fixed_labels,moving_labels,name]' and one row per pair)");
        var head = lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToList();
        int fi = head.IndexOf("fixed"), mi = head.IndexOf("moving"), fl = head.IndexOf("fixed_labels"), ml = head.IndexOf("moving_labels"), ni = head.IndexOf("name");
        if (fi < 0 || mi < 0) throw UnsupException.ForFile(path, "needs a header line with 'fixed' and 'moving' columns (and optionally fixed_labels, moving_labels, name)");
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? Col(string[] c, int i, bool isPath)
        {
            if (i < 0 || i >= c.Length || c[i].Trim().Length == 0) return null;
            var v = c[i].Trim();
            return isPath ? Path.GetFullPath(v, baseDir) : v;
        }
        var pairs = new List<RegistrationPair>();
        foreach (var (line, k) in lines.Skip(1).Select((l, k) => (l, k)))
        {
            var c = line.Split(',');
            string name = Col(c, ni, false) ?? $"pair_{k + 1:D4}";
            if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..") throw UnsupException.ForFile(path, $"row {k + 2}: name '{name}' is not a plain folder name");
            pairs.Add(new RegistrationPair(
                Col(c, fi, true) ?? throw UnsupException.ForFile(path, $"row {k + 2} has no fixed image: '{line}'"),
                Col(c, mi, true) ?? throw UnsupException.ForFile(path, $"row {k + 2} has no moving image: '{line}'"),
                Col(c, fl, true), Col(c, ml, true), name));
        }
        var dup = pairs.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw UnsupException.ForFile(path, $"the name '{dup.Key}' appears {dup.Count()} times; each pair needs its own output folder");
        return pairs;
    }

    static string F(double? v) => v is double d && !double.IsNaN(d) ? d.ToString("G6", CultureInfo.InvariantCulture) : "";
    static string Quote(string s) => s.Contains(',') || s.Contains('"') || s.Contains('\n') ? "\"" + s.Replace("\"", "\"\"").Replace('\n', ' ') + "\"" : s;
}
