using System.Globalization;
using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>
/// `--dice-labels`: which labels Dice averages over. <c>auto</c> is <see cref="EvaluationLabels.For"/>;
/// <c>freesurfer</c> the FreeSurfer evaluation structures present in every map; <c>all</c> every nonzero label
/// present in every map; anything else a file of label ids (integers separated by spaces, commas or new lines;
/// <c>#</c> starts a comment), used as given.
/// </summary>
public sealed record DiceLabelChoice(string Rule, IReadOnlyList<long>? Ids = null)
{
    public static readonly DiceLabelChoice Auto = new("auto");
    public static readonly DiceLabelChoice FreeSurfer = new("freesurfer");
    public static readonly DiceLabelChoice All = new("all");

    public static DiceLabelChoice Parse(string spec)
    {
        switch (spec.Trim().ToLowerInvariant())
        {
            case "auto": return Auto;
            case "freesurfer": return FreeSurfer;
            case "all": return All;
        }
        if (!File.Exists(spec)) throw UnsupException.ForFile(spec, "--dice-labels: neither auto, freesurfer, all nor an existing file of label ids");
        var ids = new List<long>();
        foreach (var raw in File.ReadLines(spec))
        {
            var line = raw.Split('#')[0];
            foreach (var tok in line.Split([' ', '\t', ',', ';'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!long.TryParse(tok, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) || id < 0)
                    throw UnsupException.ForFile(spec, $"--dice-labels: '{tok}' is not a label id (non-negative integer)");
                ids.Add(id);
            }
        }
        if (ids.Count == 0) throw UnsupException.ForFile(spec, "--dice-labels: the file holds no label ids");
        return new DiceLabelChoice(Path.GetFullPath(spec), ids.Distinct().OrderBy(v => v).ToList());
    }

    /// <summary>The label ids for these maps.</summary>
    public IReadOnlyList<long> Resolve(IEnumerable<Tensor> maps) => Rule switch
    {
        "auto" => EvaluationLabels.For(maps),
        "freesurfer" => EvaluationLabels.FreeSurferIn(maps),
        "all" => EvaluationLabels.AllIn(maps),
        _ => Ids!,
    };

    public override string ToString() => Rule;
}
