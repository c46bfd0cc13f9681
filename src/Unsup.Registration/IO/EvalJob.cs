using System.Globalization;
using System.Text;
using Unsup.IO;
using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>One pair to evaluate: a forward field, optionally its inverse and the two label maps (for Dice).</summary>
public sealed record EvalPair(string Field, string? Inverse = null, string? MovingLabels = null, string? FixedLabels = null);

/// <summary>
/// `unsup symnet eval`: the metrics of saved fields (Dice per label and mean with label maps, % det J ≤ 0,
/// std log det J, inverse consistency), for one pair or a pairs CSV (columns field,moving_labels,fixed_labels[,inverse]).
/// </summary>
public static class EvalJob
{
    public const string CsvHeader = "field,mean_dice,mean_dice_before,percent_detj_nonpositive,std_log_detj,inverse_consistency";

    /// <param name="labelIds">label ids for Dice; null: the nonzero labels of each fixed map</param>
    /// <param name="csvPath">when given, the per-pair metrics are written there as CSV</param>
    /// <param name="diceLabels">instead of <paramref name="labelIds"/>: a rule applied to each pair's two maps</param>
    public static List<(EvalPair Pair, RegistrationEvaluation Metrics)> Run(IReadOnlyList<EvalPair> pairs, IReadOnlyList<long>? labelIds = null, string? csvPath = null,
        DiceLabelChoice? diceLabels = null)
    {
        if (labelIds is not null && diceLabels is not null) throw new UnsupException("give --label-ids or --dice-labels, not both");
        var results = new List<(EvalPair, RegistrationEvaluation)>();
        foreach (var p in pairs)
        {
            using var scope = NewDisposeScope();
            var fwd = DisplacementFile.Read(p.Field);
            var spatial = fwd.shape[2..];
            var inv = p.Inverse is null ? null : DisplacementFile.Read(p.Inverse);
            var ml = p.MovingLabels is null ? null : RegistrationInputs.ReadLabels(p.MovingLabels, spatial);
            var fl = p.FixedLabels is null ? null : RegistrationInputs.ReadLabels(p.FixedLabels, spatial);
            if (ml is null != fl is null) throw new UnsupException($"{p.Field}: Dice needs both --moving-labels and --fixed-labels");
            var ids = diceLabels is not null && ml is not null && fl is not null ? diceLabels.Resolve([ml, fl]) : labelIds;
            results.Add((p, RegistrationEvaluation.Evaluate(fwd, inv, ml, fl, ids)));
        }
        if (csvPath is not null)
        {
            var sb = new StringBuilder(CsvHeader + "\n");
            foreach (var (p, e) in results)
                sb.AppendLine(string.Join(",", [p.Field, .. Columns(e)]));
            AtomicFile.WriteAllText(csvPath, sb.ToString());
        }
        return results;
    }

    /// <summary>The metric columns of the CSV (after the field), invariant culture, empty for NaN.</summary>
    public static string[] Columns(RegistrationEvaluation e) =>
        [F(e.MeanDice), F(e.MeanDiceBefore), F(e.PercentNonPositiveJacobian), F(e.StdLogJacobian), F(e.InverseConsistencyError)];

    static string F(double v) => double.IsNaN(v) ? "" : v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>The rows of a pairs CSV: a header line with a 'field' column, and optional moving_labels, fixed_labels, inverse.</summary>
    public static List<EvalPair> ReadPairs(string path)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "not found");
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0) throw UnsupException.ForFile(path, "is empty");
        var head = lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToList();
        int fi = head.IndexOf("field"), mi = head.IndexOf("moving_labels"), xi = head.IndexOf("fixed_labels"), ii = head.IndexOf("inverse");
        if (fi < 0) throw UnsupException.ForFile(path, "needs a header line with a 'field' column (and moving_labels, fixed_labels, inverse)");
        static string? Col(string[] c, int i) => i >= 0 && i < c.Length && c[i].Trim().Length > 0 ? c[i].Trim() : null;
        var pairs = new List<EvalPair>();
        foreach (var line in lines.Skip(1))
        {
            var c = line.Split(',');
            pairs.Add(new EvalPair(Col(c, fi) ?? throw UnsupException.ForFile(path, $"a row has no field: '{line}'"), Col(c, ii), Col(c, mi), Col(c, xi)));
        }
        return pairs;
    }
}
