using System.Security.Cryptography;
using System.Text;
using Unsup.IO;

namespace Unsup.Data;

/// <summary>Download progress of one file: the CLI draws a bar from it. BytesTotal is null when the server sends no length.</summary>
public sealed record DownloadProgress(string Item, string File, long BytesDone, long? BytesTotal);

/// <summary>Where <see cref="DataResolver"/> looks; every field is injectable so tests can use temp folders and a local server.</summary>
public sealed record DataResolverOptions
{
    /// <summary>The --data-dir option (highest priority); null when not given.</summary>
    public string? DataDir { get; init; }

    /// <summary>The UNSUP_DATA folder; defaults to the environment variable at construction, null when unset.</summary>
    public string? EnvDataDir { get; init; } = Environment.GetEnvironmentVariable(DataResolver.EnvVar) is { Length: > 0 } e ? e : null;

    /// <summary>The user cache, where downloads go: $XDG_CACHE_HOME/unsup or ~/.cache/unsup.</summary>
    public string CacheDir { get; init; } = DataResolver.DefaultCacheDir();

    /// <summary>System folders for an item (default: the catalogue's, e.g. Debian's /usr/share/datasets/fashion-mnist).</summary>
    public Func<KnownItem, IEnumerable<string>> SystemFolders { get; init; } = item => item.SystemFolders;

    /// <summary>The client used for downloads (default: one shared client).</summary>
    public HttpClient? Http { get; init; }

    /// <summary>False: never download, only look in folders.</summary>
    public bool AllowDownload { get; init; } = true;
}

/// <summary>A named item found on disk: the folder holding its files and each file's full path (in catalogue order).</summary>
/// <param name="Origin">Which place it came from, e.g. "UNSUP_DATA" or "download".</param>
public sealed record ResolvedItem(KnownItem Item, string Folder, IReadOnlyList<string> Files, string Origin)
{
    /// <summary>The full path of one of the item's files, by file name ("oasis_pair_A.nii.gz").</summary>
    public string File(string fileName)
    {
        int i = Array.FindIndex(Item.Files, f => f.FileName == fileName);
        if (i < 0) throw new ArgumentException($"'{fileName}' is not a file of '{Item.Name}'", nameof(fileName));
        return Files[i];
    }
}

/// <summary>
/// Finds named data (<see cref="KnownFiles"/>) in this order: the --data-dir folder, the UNSUP_DATA folder, the user
/// cache, system dataset folders; if none has all of the item's files, downloads the missing ones into the user cache,
/// checking each against the catalogue checksum and writing it atomically (a failed or corrupt download leaves nothing).
/// Files found in folders are trusted as they are (Debian re-compresses Fashion-MNIST, so its bytes differ from the
/// published ones); only downloads are checksummed.
/// </summary>
public sealed class DataResolver
{
    public const string EnvVar = "UNSUP_DATA";
    static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(10) });

    readonly DataResolverOptions _options;

    public DataResolver(DataResolverOptions? options = null) => _options = options ?? new DataResolverOptions();

    /// <summary>A resolver with the given --data-dir (may be null) and all other places at their defaults.</summary>
    public DataResolver(string? dataDir) : this(new DataResolverOptions { DataDir = dataDir }) { }

    public DataResolverOptions Options => _options;

    public static string DefaultCacheDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "unsup");
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "unsup");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "unsup");
    }

    /// <summary>The places searched for <paramref name="item"/>, in order: (label, folder that should hold its files or null when not configured).</summary>
    public IReadOnlyList<(string Label, string? Folder)> Places(KnownItem item)
    {
        var places = new List<(string, string?)>
        {
            ("--data-dir", _options.DataDir == null ? null : Sub(_options.DataDir, item)),
            (EnvVar, _options.EnvDataDir == null ? null : Sub(_options.EnvDataDir, item)),
            ("user cache", Sub(_options.CacheDir, item)),
        };
        foreach (var s in _options.SystemFolders(item)) places.Add(("system", s));
        return places;
    }

    public ResolvedItem Resolve(string name, Action<DownloadProgress>? progress = null, CancellationToken ct = default) =>
        ResolveAsync(name, progress, ct).GetAwaiter().GetResult();

    public async Task<ResolvedItem> ResolveAsync(string name, Action<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        var item = KnownFiles.Get(name);
        var places = Places(item);
        foreach (var (label, folder) in places)
        {
            if (folder == null) continue;
            var files = item.Files.Select(f => Path.Combine(folder, f.FileName)).ToArray();
            if (files.All(File.Exists)) return new ResolvedItem(item, folder, files, label);
        }

        string cache = Sub(_options.CacheDir, item);
        string? downloadError = null;
        if (_options.AllowDownload)
        {
            try
            {
                foreach (var f in item.Files)
                {
                    string target = Path.Combine(cache, f.FileName);
                    if (!File.Exists(target)) await DownloadAsync(item, f, target, progress, ct).ConfigureAwait(false);
                }
                return new ResolvedItem(item, cache, item.Files.Select(f => Path.Combine(cache, f.FileName)).ToArray(), "download");
            }
            catch (DownloadFailed e) { downloadError = e.Message; }
        }
        throw NotFound(item, places, downloadError);
    }

    UnsupException NotFound(KnownItem item, IReadOnlyList<(string Label, string? Folder)> places, string? downloadError)
    {
        var sb = new StringBuilder();
        sb.Append($"data '{item.Name}' ({item.Description}) not found. Looked for {string.Join(", ", item.Files.Select(f => f.FileName))} in:");
        foreach (var (label, folder) in places)
        {
            if (folder == null) { sb.Append($"\n  {label}: not set"); continue; }
            var missing = item.Files.Where(f => !File.Exists(Path.Combine(folder, f.FileName))).Select(f => f.FileName).ToArray();
            string state = !Directory.Exists(folder) ? "folder does not exist" : $"missing {string.Join(", ", missing)}";
            sb.Append($"\n  {label}: {folder} ({state})");
        }
        sb.Append(downloadError != null ? $"\n  download: failed: {downloadError}" : "\n  download: disabled");
        sb.Append($"\nFix: put the files in DIR/{(item.Folder.Length > 0 ? item.Folder + "/" : "")} and pass --data-dir DIR or set {EnvVar}=DIR, or allow downloading (network access; files go to {_options.CacheDir}).");
        return new UnsupException(sb.ToString());
    }

    static string Sub(string root, KnownItem item) =>
        Path.GetFullPath(item.Folder.Length == 0 ? root : Path.Combine(root, item.Folder.Replace('/', Path.DirectorySeparatorChar)));

    async Task DownloadAsync(KnownItem item, KnownFile file, string target, Action<DownloadProgress>? progress, CancellationToken ct)
    {
        var http = _options.Http ?? SharedHttp.Value;
        var errors = new List<string>();
        foreach (var url in file.Urls)
        {
            try
            {
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) { errors.Add($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}"); continue; }
                long? total = response.Content.Headers.ContentLength;
                await using var net = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                AtomicFile.Write(target, output => CopyVerified(net, output, item, file, total, progress, ct));
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (DownloadFailed e) { errors.Add($"{url}: {e.Message}"); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            { errors.Add($"{url}: {(e is TaskCanceledException ? "timed out" : e.Message)}"); }
        }
        throw new DownloadFailed($"{file.FileName}: {string.Join("; ", errors)}");
    }

    /// <summary>Copies the download to the temp file while hashing; throwing here makes AtomicFile discard the temp file.</summary>
    static void CopyVerified(Stream net, Stream output, KnownItem item, KnownFile file, long? total, Action<DownloadProgress>? progress, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(file.Kind == ChecksumKind.Md5 ? HashAlgorithmName.MD5 : HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long done = 0;
        progress?.Invoke(new DownloadProgress(item.Name, file.FileName, 0, total));
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            int n;
            try { n = net.Read(buffer); }
            catch (Exception e) when (e is IOException or HttpRequestException) { throw new DownloadFailed($"connection lost after {done} bytes ({e.Message})"); }
            if (n == 0) break;
            hash.AppendData(buffer, 0, n);
            output.Write(buffer, 0, n);
            done += n;
            progress?.Invoke(new DownloadProgress(item.Name, file.FileName, done, total));
        }
        if (total is long t && done != t) throw new DownloadFailed($"incomplete download: {done} of {t} bytes");
        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(actual, file.Checksum, StringComparison.OrdinalIgnoreCase))
            throw new DownloadFailed($"checksum mismatch: {(file.Kind == ChecksumKind.Md5 ? "MD5" : "SHA-256")} {actual}, expected {file.Checksum}");
    }

    /// <summary>Deliberately not an IOException, so AtomicFile passes it through (after deleting its temp file).</summary>
    sealed class DownloadFailed(string message) : Exception(message);
}
