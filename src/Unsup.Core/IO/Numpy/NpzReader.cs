using System.IO.Compression;
using static TorchSharp.torch;

namespace Unsup.IO.Numpy;

/// <summary>Reads NumPy .npz archives (np.savez and np.savez_compressed: a zip of .npy files).</summary>
public static class NpzReader
{
    /// <summary>Array names in archive order (entry names without ".npy").</summary>
    public static IReadOnlyList<string> Keys(string path)
    {
        using var zip = Open(path);
        return zip.Entries.Select(e => KeyOf(e.FullName)).ToList();
    }

    public static Tensor Read(string path, string key) => Read(path, key, out _);

    /// <summary>One array; a missing key is an error listing the keys present.</summary>
    public static Tensor Read(string path, string key, out NpyHeader header)
    {
        using var zip = Open(path);
        var entry = zip.GetEntry(key + ".npy") ?? zip.GetEntry(key)
            ?? throw UnsupException.ForFile(path, $"no array '{key}' in this .npz (it has: {string.Join(", ", zip.Entries.Select(e => KeyOf(e.FullName)))})");
        return ReadEntry(path, entry, out header);
    }

    /// <summary>Every array, by key (the caller disposes the tensors).</summary>
    public static Dictionary<string, Tensor> ReadAll(string path)
    {
        using var zip = Open(path);
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in zip.Entries)
                result[KeyOf(e.FullName)] = ReadEntry(path, e, out _);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Every array's header, without reading the data (for summaries).</summary>
    public static List<(string Key, NpyHeader Header)> Headers(string path)
    {
        using var zip = Open(path);
        var list = new List<(string, NpyHeader)>();
        foreach (var e in zip.Entries)
        {
            string name = $"{path} (array '{KeyOf(e.FullName)}')";
            try
            {
                using var s = e.Open();
                list.Add((KeyOf(e.FullName), NpyReader.ReadHeader(s, name)));
            }
            catch (InvalidDataException ex) { throw UnsupException.ForFile(name, $"corrupt zip entry ({ex.Message})", ex); }
        }
        return list;
    }

    static Tensor ReadEntry(string path, ZipArchiveEntry e, out NpyHeader header)
    {
        string name = $"{path} (array '{KeyOf(e.FullName)}')";
        try
        {
            using var s = e.Open();
            return NpyReader.Read(s, name, out header);
        }
        catch (InvalidDataException ex) { throw UnsupException.ForFile(name, $"corrupt zip entry ({ex.Message})", ex); }
    }

    static string KeyOf(string entryName) => entryName.EndsWith(".npy", StringComparison.Ordinal) ? entryName[..^4] : entryName;

    static ZipArchive Open(string path)
    {
        var fs = NpyReader.Open(path);
        try
        {
            var zip = new ZipArchive(fs, ZipArchiveMode.Read);
            _ = zip.Entries; // the central directory is read lazily: read it here, where its errors are reported
            return zip;
        }
        catch (InvalidDataException e)
        {
            fs.Dispose();
            throw UnsupException.ForFile(path, $"not a valid .npz (zip) file ({e.Message})", e);
        }
        catch (IOException e)
        {
            fs.Dispose();
            throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e);
        }
    }
}
