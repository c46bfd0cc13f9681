using System.CommandLine;
using Spectre.Console;
using Unsup.Data;

namespace Unsup.Cli;

/// <summary>Named data for the CLI: resolution with a download bar, and the search order `unsup info` shows.</summary>
public static class DataLocations
{
    public static DataResolver Resolver(ParseResult r) => new(r.GetValue(GlobalOptions.DataDir));

    /// <summary>Resolves a named item (dataset, model); draws a progress bar only if it has to download.</summary>
    public static ResolvedItem Resolve(ParseResult r, string name)
    {
        var resolver = Resolver(r);
        bool quiet = r.GetValue(GlobalOptions.Quiet) || Console.IsErrorRedirected;
        DateTime last = DateTime.MinValue;
        return resolver.Resolve(name, p =>
        {
            if (quiet || (DateTime.UtcNow - last).TotalSeconds < 1 && p.BytesDone != p.BytesTotal) return;
            last = DateTime.UtcNow;
            string total = p.BytesTotal is long t ? $"/{t / 1e6:F1} MB ({100.0 * p.BytesDone / Math.Max(1, t):F0}%)" : " MB";
            Console.Error.WriteLine($"downloading {p.Item}: {p.File} {p.BytesDone / 1e6:F1}{total}");
        });
    }

    /// <summary>(place, folder) rows: the search order, then where each known item is found now.</summary>
    public static IEnumerable<(string, string)> Describe(string? dataDir)
    {
        var resolver = new DataResolver(new DataResolverOptions { DataDir = dataDir, AllowDownload = false });
        yield return ("search order", "--data-dir, $UNSUP_DATA, user cache, system folders, then download");
        yield return ("--data-dir", dataDir ?? "(not given)");
        yield return ("UNSUP_DATA", resolver.Options.EnvDataDir ?? "(not set)");
        yield return ("user cache", resolver.Options.CacheDir);
        foreach (var item in KnownFiles.All)
        {
            string where;
            try { var found = resolver.Resolve(item.Name); where = $"{found.Folder} ({found.Origin})"; }
            catch (UnsupException) { where = "not found locally (downloaded on first use)"; }
            yield return (item.Name, where);
        }
    }
}
