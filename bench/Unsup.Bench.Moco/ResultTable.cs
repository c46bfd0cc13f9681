using System.Text;
using Unsup.IO;

namespace Unsup.Bench.Moco;

/// <summary>A Markdown table printed to the console and written (atomically) with a heading and notes to a results file.</summary>
public sealed class ResultTable(params string[] header)
{
    readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", header) + " |");
        sb.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var r in _rows) sb.AppendLine("| " + string.Join(" | ", r) + " |");
        return sb.ToString();
    }

    /// <summary>Prints the table and writes "# title", the table and the notes to <paramref name="path"/>.</summary>
    public void Write(string path, string title, IEnumerable<string> notes)
    {
        string table = ToMarkdown();
        Console.WriteLine();
        Console.Write(table);
        var text = new StringBuilder($"# {title}\n\n{table}\n");
        foreach (var n in notes) text.AppendLine(n);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, text.ToString());
        Console.WriteLine($"\nwritten: {path}");
    }
}
