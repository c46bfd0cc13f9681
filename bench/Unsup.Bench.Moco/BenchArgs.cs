using System.Globalization;

namespace Unsup.Bench.Moco;

/// <summary>`--name value` and `--flag` options of a bench verb; unknown or malformed ones are an ArgumentException.</summary>
public sealed class BenchArgs
{
    static readonly HashSet<string> Flags = ["raw-k1"];
    static readonly HashSet<string> Valued =
        ["out", "threads", "data", "minutes", "epochs", "width", "batch", "bank", "test", "train", "log-every", "preview", "steps", "splits", "queue", "lr", "crop-min-scale", "stem-stride"];
    readonly Dictionary<string, string> _values = [];

    public static BenchArgs Parse(string[] args)
    {
        var a = new BenchArgs();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i].StartsWith("--") ? args[i][2..] : throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (Flags.Contains(name)) { a._values[name] = "true"; continue; }
            if (!Valued.Contains(name)) throw new ArgumentException($"unknown option --{name}");
            if (i + 1 >= args.Length) throw new ArgumentException($"--{name} needs a value");
            a._values[name] = args[++i];
        }
        return a;
    }

    public string? String(string name) => _values.GetValueOrDefault(name);
    public bool Flag(string name) => _values.ContainsKey(name);

    public int Int(string name, int dflt)
    {
        if (!_values.TryGetValue(name, out var s)) return dflt;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw new ArgumentException($"--{name} {s}: expected a non-negative integer");
    }

    public double Double(string name, double dflt)
    {
        if (!_values.TryGetValue(name, out var s)) return dflt;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw new ArgumentException($"--{name} {s}: expected a non-negative number");
    }
}
