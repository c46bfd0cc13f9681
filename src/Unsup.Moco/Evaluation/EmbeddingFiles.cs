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

    static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
