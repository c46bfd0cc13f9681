using System.Globalization;
using System.Text;
using Unsup.IO;
using Unsup.IO.Numpy;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>
/// Embeddings on disk: FILE.npy [N, D] float32 and FILE.csv with one line per row: row, source (image file, or
/// "SPLIT:INDEX" for array datasets), label (class index, empty when unlabelled), class name. Both written atomically.
/// </summary>
public static class EmbeddingFiles
{
    public static string IndexPath(string npyPath) => Path.ChangeExtension(npyPath, ".csv");

    public static void Write(string npyPath, Tensor features, IReadOnlyList<string> sources, long[]? labels, IReadOnlyList<string> classNames)
    {
        if (features.dim() != 2 || features.shape[0] != sources.Count)
            throw new ArgumentException($"features [{string.Join(", ", features.shape)}] do not match {sources.Count} sources");
        var dir = Path.GetDirectoryName(Path.GetFullPath(npyPath))!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw UnsupException.ForFile(npyPath, $"cannot create the folder ({e.Message})", e); }
        var csv = new StringBuilder("row,source,label,class\n");
        for (int i = 0; i < sources.Count; i++)
        {
            long? y = labels?[i];
            string cls = y is long l && l >= 0 && l < classNames.Count ? classNames[(int)l] : "";
            csv.Append(i.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Quote(sources[i])).Append(',')
               .Append(y is long v && v >= 0 ? v.ToString(CultureInfo.InvariantCulture) : "").Append(',').Append(Quote(cls)).Append('\n');
        }
        NpyWriter.Write(npyPath, features.to(ScalarType.Float32).contiguous());
        AtomicFile.WriteAllText(IndexPath(npyPath), csv.ToString());
    }

    /// <summary>The CSV index beside an embedding file: per row (source, class name or "").</summary>
    public static List<(string Source, string Class)> ReadIndex(string npyPath)
    {
        var path = IndexPath(npyPath);
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "index file not found (unsup moco embed writes it beside the .npy)");
        var rows = new List<(string, string)>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0) continue;
            var f = Fields(line);
            if (f.Count < 4) throw UnsupException.ForFile(path, $"line {rows.Count + 2} has {f.Count} fields, expected row,source,label,class");
            rows.Add((f[1], f[3]));
        }
        return rows;
    }

    static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cur.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(ch);
        }
        fields.Add(cur.ToString());
        return fields;
    }

    static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
