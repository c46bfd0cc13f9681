using System.Buffers.Binary;
using System.Text;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>
/// A seeded mutation fuzzer for file readers. Each case starts from a valid file made by the test, applies one or a
/// few mutations (truncation, bit flips, interesting bytes, targeted header fields set to huge, negative or zero
/// values, deleted or inserted chunks = lying lengths, appended garbage), writes it and reads it. A case passes when
/// the reader returns or throws an <see cref="UnsupException"/> that names the file; it fails on any other exception,
/// on a read that takes longer than <see cref="CaseTimeout"/>, or when the read allocates more managed memory than the
/// file could justify (<c>allowance</c> bytes per file byte plus a fixed slack), so a header claiming 10^12 voxels
/// must be refused before the array is made.
/// Case i of reader R always gets the same mutation (seed = hash(R) + i + UNSUP_FUZZ_SEED), so a failure reproduces;
/// UNSUP_FUZZ_CASES sets the number of cases per reader (default <see cref="DefaultCases"/>).
/// </summary>
public sealed class Fuzzer
{
    public const int DefaultCases = 120;
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);
    const long SlackBytes = 8 << 20;

    public static int Cases => int.TryParse(Environment.GetEnvironmentVariable("UNSUP_FUZZ_CASES"), out int n) && n > 0 ? n : DefaultCases;
    static int BaseSeed => int.TryParse(Environment.GetEnvironmentVariable("UNSUP_FUZZ_SEED"), out int s) ? s : 0;

    public required string Reader { get; init; }
    /// <summary>The valid file before encoding (the bytes the targeted mutations know the layout of).</summary>
    public required byte[] Seed { get; init; }
    /// <summary>File name extension of the written case, e.g. ".nii.gz".</summary>
    public required string Extension { get; init; }
    /// <summary>Reads the file and disposes what it returns; any <see cref="UnsupException"/> it throws must name the file.</summary>
    public required Action<string> Read { get; init; }
    /// <summary>Turns mutated seed bytes into the file (gzip, zip, checksum footer...); identity by default.</summary>
    public Func<byte[], byte[]>? Encode { get; init; }
    /// <summary>Mutations that know the format: header fields set to lying values.</summary>
    public IReadOnlyList<Func<byte[], Random, (byte[] Bytes, string What)>> Targeted { get; init; } = [];
    /// <summary>Managed bytes a read may allocate per byte of the file (deflate expands at most 1032x).</summary>
    public double Allowance { get; init; } = 8;
    /// <summary>Where the case file is written; the default is a fresh temp folder. Lets dataset readers find companions.</summary>
    public Func<string, string>? PathInFolder { get; init; }

    public sealed record Failure(int Case, string Mutation, string Problem);

    /// <summary>Runs the cases; returns the failures (case 0 is the unmutated file, which must read).</summary>
    public List<Failure> Run(int? cases = null)
    {
        int n = cases ?? Cases;
        var dir = Path.Combine(Path.GetTempPath(), $"unsup-fuzz-{Reader}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var failures = new List<Failure>();
        try
        {
            int readerSeed = StableHash(Reader) + BaseSeed;
            for (int i = 0; i < n; i++)
            {
                var rng = new Random(readerSeed + i);
                var (bytes, what) = i == 0 ? (Encode?.Invoke(Seed) ?? Seed, "none") : Mutate(rng);
                string path = PathInFolder?.Invoke(dir) ?? Path.Combine(dir, $"case{Extension}");
                File.WriteAllBytes(path, bytes);
                // UNSUP_FUZZ_TRACE=FILE logs each case before it runs and keeps its bytes, to find one that kills the process
                if (Environment.GetEnvironmentVariable("UNSUP_FUZZ_TRACE") is { Length: > 0 } trace)
                {
                    File.AppendAllText(trace, $"{Reader} case {i}: {what}\n");
                    File.WriteAllBytes(trace + Extension, bytes);
                }
                var problem = RunCase(path, bytes.Length, mustRead: i == 0);
                if (problem != null) failures.Add(new Failure(i, what, problem));
            }
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
        return failures;
    }

    /// <summary>Fails the test listing the first failures with what reproduces them.</summary>
    public static void AssertClean(string reader, List<Failure> failures, int cases)
    {
        if (failures.Count == 0) return;
        var lines = failures.Take(8).Select(f => $"  case {f.Case} ({f.Mutation}): {f.Problem}");
        Assert.Fail($"{reader}: {failures.Count} of {cases} fuzz cases failed (UNSUP_FUZZ_SEED={BaseSeed}):\n{string.Join("\n", lines)}");
    }

    (byte[], string) Mutate(Random rng)
    {
        // A quarter of the cases of an encoded format damage the encoded bytes (gzip/zip/checksum layer);
        // the rest damage the content and encode it properly, so the parser behind the container sees them.
        bool outer = Encode != null && rng.NextDouble() < 0.25;
        var bytes = outer ? Encode!(Seed) : (byte[])Seed.Clone();
        int steps = rng.NextDouble() < 0.7 ? 1 : rng.Next(2, 4);
        var what = new List<string>();
        for (int s = 0; s < steps; s++)
        {
            string w;
            (bytes, w) = MutateOnce(bytes, rng, targetedAllowed: !outer);
            what.Add(w);
        }
        var result = outer ? bytes : Encode?.Invoke(bytes) ?? bytes;
        return (result, (outer ? "outer: " : "") + string.Join(" + ", what));
    }

    (byte[], string) MutateOnce(byte[] b, Random rng, bool targetedAllowed)
    {
        if (targetedAllowed && Targeted.Count > 0 && rng.NextDouble() < 0.45)
            return Targeted[rng.Next(Targeted.Count)](b, rng);
        switch (rng.Next(6))
        {
            case 0:
            {
                int len = rng.Next(b.Length);
                return (b[..len], $"truncate to {len}");
            }
            case 1:
            {
                var c = (byte[])b.Clone();
                int k = rng.Next(1, 9);
                for (int j = 0; j < k && c.Length > 0; j++) c[rng.Next(c.Length)] ^= (byte)(1 << rng.Next(8));
                return (c, $"flip {k} bits");
            }
            case 2:
            {
                var c = (byte[])b.Clone();
                byte[] interesting = [0, 0xFF, 0x7F, 0x80, 0x01, 0xFE];
                int k = rng.Next(1, 5), at = c.Length > 0 ? rng.Next(c.Length) : 0;
                for (int j = 0; j < k && c.Length > 0; j++) c[(at + j) % c.Length] = interesting[rng.Next(interesting.Length)];
                return (c, $"set {k} bytes at {at}");
            }
            case 3:
            {
                if (b.Length < 2) return (b, "nothing");
                int at = rng.Next(b.Length), len = rng.Next(1, Math.Min(64, b.Length - at) + 1);
                return ([.. b[..at], .. b[(at + len)..]], $"delete {len} at {at}");
            }
            case 4:
            {
                int at = rng.Next(b.Length + 1);
                var ins = new byte[rng.Next(1, 64)];
                rng.NextBytes(ins);
                return ([.. b[..at], .. ins, .. b[at..]], $"insert {ins.Length} at {at}");
            }
            default:
            {
                var tail = new byte[rng.Next(1, 4096)];
                rng.NextBytes(tail);
                return ([.. b, .. tail], $"append {tail.Length}");
            }
        }
    }

    string? RunCase(string path, long fileLength, bool mustRead)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { Read(path); }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, 64 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(CaseTimeout)) return $"hang: no answer after {CaseTimeout.TotalSeconds} s";
        long limit = (long)(Allowance * fileLength) + SlackBytes;
        if (allocated > limit) return $"allocated {allocated:N0} bytes for a {fileLength:N0}-byte file (limit {limit:N0}); outcome: {error?.Message ?? "read"}";
        if (error == null) return null;
        if (mustRead) return $"the unmutated file does not read: {error.GetType().Name}: {error.Message}";
        if (error is not UnsupException)
            return $"{error.GetType().FullName}: {error.Message}\n{error.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("Unsup."))?.Trim()}";
        string name = Path.GetFileName(path);
        if (!error.Message.Contains(name, StringComparison.Ordinal))
            return $"UnsupException does not name the file: {error.Message}";
        return null;
    }

    static int StableHash(string s)
    {
        int h = 17;
        foreach (char c in s) h = unchecked(h * 31 + c);
        return h & 0x3FFFFFFF;
    }

    // ---- targeted mutations ----

    static readonly long[] Lies = [0, -1, 1, 2, -32768, 32767, 65535, 1 << 20, int.MaxValue, int.MinValue, 1_000_000, 100_000_000];

    /// <summary>An integer header field set to a lying value (0, negative, huge, off by one).</summary>
    public static Func<byte[], Random, (byte[], string)> IntField(string name, int offset, int width, bool bigEndian) => (b, rng) =>
    {
        if (b.Length < offset + width) return (b, $"{name}: file too short");
        var c = (byte[])b.Clone();
        long old = ReadInt(c, offset, width, bigEndian);
        long v = rng.Next(3) switch { 0 => old + rng.Next(-2, 3), 1 => old * rng.Next(2, 1000), _ => Lies[rng.Next(Lies.Length)] };
        if (width == 8 && rng.Next(4) == 0) v = rng.Next(2) == 0 ? long.MaxValue : 1L << rng.Next(31, 62);
        WriteInt(c, offset, width, bigEndian, v);
        return (c, $"{name} {old} -> {v}");
    };

    /// <summary>Several dimension fields at once set to sizes whose product no small file can hold (10^12 elements and more).</summary>
    public static Func<byte[], Random, (byte[], string)> HugeDims(string name, int[] offsets, int width, bool bigEndian) => (b, rng) =>
    {
        var c = (byte[])b.Clone();
        long v = width switch { 1 => 255, 2 => rng.Next(2) == 0 ? 32767 : 10_000, _ => rng.Next(2) == 0 ? 10_000 : 1_000_000 };
        foreach (int o in offsets) if (c.Length >= o + width) WriteInt(c, o, width, bigEndian, v);
        return (c, $"{name} all {v}");
    };

    /// <summary>A float32 header field set to NaN, infinity, negative or huge.</summary>
    public static Func<byte[], Random, (byte[], string)> FloatField(string name, int offset, bool bigEndian) => (b, rng) =>
    {
        if (b.Length < offset + 4) return (b, $"{name}: file too short");
        var c = (byte[])b.Clone();
        float[] lies = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -1, 0, 1e30f, 3e9f, 1e-30f, -352f];
        float v = lies[rng.Next(lies.Length)];
        if (bigEndian) BinaryPrimitives.WriteSingleBigEndian(c.AsSpan(offset), v); else BinaryPrimitives.WriteSingleLittleEndian(c.AsSpan(offset), v);
        return (c, $"{name} -> {v}");
    };

    /// <summary>Replaces a piece of ASCII text (e.g. the shape in a .npy header) by one of <paramref name="lies"/>.</summary>
    public static Func<byte[], Random, (byte[], string)> Text(string find, params string[] lies) => (b, rng) =>
    {
        var s = Encoding.Latin1.GetString(b);
        int at = s.IndexOf(find, StringComparison.Ordinal);
        if (at < 0) return (b, $"text '{find}' not found");
        var lie = lies[rng.Next(lies.Length)];
        return (Encoding.Latin1.GetBytes(s[..at] + lie + s[(at + find.Length)..]), $"'{find}' -> '{lie}'");
    };

    static long ReadInt(byte[] b, int o, int w, bool big) => w switch
    {
        1 => b[o],
        2 => big ? BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(o)),
        4 => big ? BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(o)),
        _ => big ? BinaryPrimitives.ReadInt64BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(o)),
    };

    static void WriteInt(byte[] b, int o, int w, bool big, long v)
    {
        var s = b.AsSpan(o);
        switch (w)
        {
            case 1: b[o] = (byte)v; break;
            case 2: if (big) BinaryPrimitives.WriteInt16BigEndian(s, (short)v); else BinaryPrimitives.WriteInt16LittleEndian(s, (short)v); break;
            case 4: if (big) BinaryPrimitives.WriteInt32BigEndian(s, (int)v); else BinaryPrimitives.WriteInt32LittleEndian(s, (int)v); break;
            default: if (big) BinaryPrimitives.WriteInt64BigEndian(s, v); else BinaryPrimitives.WriteInt64LittleEndian(s, v); break;
        }
    }
}
