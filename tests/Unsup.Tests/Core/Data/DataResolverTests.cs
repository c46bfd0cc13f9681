using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Unsup.Data;

namespace Unsup.Tests.Core.Data;

public class DataResolverTests
{
    static readonly KnownItem Pair = KnownFiles.Get("oasis-pair");

    static void Put(string root, KnownItem item, params string[] only)
    {
        foreach (var f in item.Files)
        {
            if (only.Length > 0 && !only.Contains(f.FileName)) continue;
            var p = Path.Combine(root, f.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, "fake " + f.FileName);
        }
    }

    /// <summary>A client that fails every request at once, as offline.</summary>
    static HttpClient Offline() => new(new FailingHandler());

    sealed class FailingHandler : HttpMessageHandler
    {
        public int Calls;
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            throw new HttpRequestException("Name or service not known (" + request.RequestUri!.Host + ")");
        }
    }

    [Fact]
    public void ResolutionOrderIsDataDirEnvCacheSystem()
    {
        using var dataDir = TestData.Temp();
        using var env = TestData.Temp();
        using var cache = TestData.Temp();
        using var system = TestData.Temp();
        foreach (var root in new[] { dataDir.Path, env.Path, cache.Path }) Put(root, Pair);
        foreach (var f in Pair.Files) File.WriteAllText(Path.Combine(system.Path, f.FileName), "sys"); // system folders hold the files directly

        DataResolver Make() => new(new DataResolverOptions
        {
            DataDir = dataDir.Path, EnvDataDir = env.Path, CacheDir = cache.Path,
            SystemFolders = _ => [system.Path], Http = Offline(),
        });

        var r = Make().Resolve("oasis-pair");
        Assert.Equal("--data-dir", r.Origin);
        Assert.Equal(Path.Combine(dataDir.Path, "brain", "oasis_pair_A.nii.gz"), r.File("oasis_pair_A.nii.gz"));

        File.Delete(Path.Combine(dataDir.Path, "brain", "oasis_pair_B.nii.gz")); // an incomplete place is skipped
        r = Make().Resolve("oasis-pair");
        Assert.Equal("UNSUP_DATA", r.Origin);
        Assert.Equal(Path.Combine(env.Path, "brain"), r.Folder);

        Directory.Delete(Path.Combine(env.Path, "brain"), true);
        r = Make().Resolve("OASIS-PAIR");
        Assert.Equal("user cache", r.Origin);
        Assert.Equal(Path.Combine(cache.Path, "brain", "oasis_pair_B.nii.gz"), r.Files[1]);

        Directory.Delete(Path.Combine(cache.Path, "brain"), true);
        r = Make().Resolve("oasis-pair");
        Assert.Equal("system", r.Origin);
        Assert.Equal(Path.Combine(system.Path, "oasis_pair_A.nii.gz"), r.Files[0]);
    }

    [Fact]
    public void MissingEverywhereListsEveryPlaceAndTheFix()
    {
        using var dataDir = TestData.Temp();
        using var cache = TestData.Temp();
        Put(dataDir.Path, Pair, "oasis_pair_A.nii.gz");
        var handler = new FailingHandler();
        var resolver = new DataResolver(new DataResolverOptions
        {
            DataDir = dataDir.Path, EnvDataDir = null, CacheDir = cache.Path,
            SystemFolders = _ => ["/nonexistent/unsup-system"], Http = new HttpClient(handler),
        });
        var e = Assert.Throws<UnsupException>(() => resolver.Resolve("oasis-pair"));
        var m = e.Message;
        Assert.StartsWith("data 'oasis-pair'", m);
        Assert.Contains($"--data-dir: {Path.Combine(dataDir.Path, "brain")} (missing oasis_pair_B.nii.gz)", m);
        Assert.Contains("UNSUP_DATA: not set", m);
        Assert.Contains($"user cache: {Path.Combine(cache.Path, "brain")} (folder does not exist)", m);
        Assert.Contains("system: /nonexistent/unsup-system (folder does not exist)", m);
        Assert.Contains("download: failed: oasis_pair_A.nii.gz: https://raw.githubusercontent.com/", m);
        Assert.Contains("Name or service not known", m);
        Assert.Contains("pass --data-dir DIR or set UNSUP_DATA=DIR", m);
        Assert.Equal(1, handler.Calls); // one URL for the first file, then it gives up
        Assert.False(Directory.Exists(Path.Combine(cache.Path, "brain")) && Directory.EnumerateFileSystemEntries(Path.Combine(cache.Path, "brain")).Any());

        var noDownload = new DataResolver(new DataResolverOptions { EnvDataDir = null, CacheDir = cache.Path, SystemFolders = _ => [], AllowDownload = false });
        Assert.Contains("download: disabled", Assert.Throws<UnsupException>(() => noDownload.Resolve("oasis-pair")).Message);
        Assert.Contains("unknown data item 'nope'; known items: fashion-mnist, oasis-pair",
            Assert.Throws<UnsupException>(() => noDownload.Resolve("nope")).Message);
    }

    [Fact]
    public void CatalogueChecksumsMatchTheSharedCopies()
    {
        foreach (var item in KnownFiles.All.Where(i => i.Name != "fashion-mnist"))
            foreach (var f in item.Files)
            {
                var path = TestData.Shared(f.RelativePath);
                using var s = File.OpenRead(path);
                Assert.Equal(f.Checksum, Convert.ToHexStringLower(SHA256.HashData(s)));
            }
        Assert.All(KnownFiles.All.SelectMany(i => i.Files), f => Assert.NotEmpty(f.Urls));
    }

    /// <summary>Rewrites every request to the local test server, keeping the path, so the catalogue's real URLs are exercised offline.</summary>
    sealed class ToLocal(int port) : DelegatingHandler(new HttpClientHandler())
    {
        public List<string> Requested { get; } = [];
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (Requested) Requested.Add(request.RequestUri!.ToString());
            request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = "http", Host = "127.0.0.1", Port = port }.Uri;
            return base.SendAsync(request, ct);
        }
    }

    /// <summary>A bounded HttpListener on 127.0.0.1 serving fixed bytes by URL path (file name), 404 otherwise.</summary>
    sealed class LocalServer : IDisposable
    {
        readonly HttpListener _listener = new();
        readonly Dictionary<string, byte[]> _files;
        readonly Task _loop;
        public int Port { get; }

        public LocalServer(Dictionary<string, byte[]> files)
        {
            _files = files;
            for (int attempt = 0; ; attempt++)
            {
                // a free port from the OS; another process may take it before the listener binds, so retry
                var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                try { _listener.Start(); break; }
                catch (HttpListenerException) when (attempt < 5) { }
            }
            _loop = Task.Run(Serve);
        }

        async Task Serve()
        {
            for (int served = 0; served < 50 && _listener.IsListening; served++)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch { return; }
                ctx.Response.KeepAlive = false; // one connection per request: no reuse race with a closing connection
                var name = ctx.Request.Url!.AbsolutePath.Split('/').Last();
                if (_files.TryGetValue(name, out var bytes))
                {
                    ctx.Response.ContentLength64 = bytes.Length;
                    await ctx.Response.OutputStream.WriteAsync(bytes);
                }
                else ctx.Response.StatusCode = 404;
                ctx.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void DownloadVerifiesChecksumAndWritesIntoTheCache()
    {
        var item = KnownFiles.Get("oasis-slice-2d");
        var a = File.ReadAllBytes(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        var b = File.ReadAllBytes(TestData.Shared("brain/oasis_slice_B_2d.nii.gz"));
        using var server = new LocalServer(new() { ["image_A_2D.nii.gz"] = a, ["image_B_2D.nii.gz"] = b });
        using var cache = TestData.Temp();
        var handler = new ToLocal(server.Port);
        var progress = new List<DownloadProgress>();
        var resolver = new DataResolver(new DataResolverOptions { EnvDataDir = null, CacheDir = cache.Path, SystemFolders = _ => [], Http = new HttpClient(handler) });

        var r = resolver.Resolve("oasis-slice-2d", p => { lock (progress) progress.Add(p); });
        Assert.Equal("download", r.Origin);
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(cache.Path, "brain", "oasis_slice_A_2d.nii.gz")));
        Assert.Equal(b, File.ReadAllBytes(r.File("oasis_slice_B_2d.nii.gz")));
        Assert.Equal(item.Files.SelectMany(f => f.Urls), handler.Requested);
        var last = progress.Last(p => p.File == "oasis_slice_A_2d.nii.gz");
        Assert.Equal((long)a.Length, last.BytesDone);
        Assert.Equal(a.Length, last.BytesTotal);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(cache.Path, "brain")).Length); // no temp files left

        // found in the cache next time, without the network
        var again = new DataResolver(new DataResolverOptions { EnvDataDir = null, CacheDir = cache.Path, SystemFolders = _ => [], Http = Offline() });
        Assert.Equal("user cache", again.Resolve("oasis-slice-2d").Origin);
    }

    [Fact]
    public void ChecksumMismatchLeavesNoFileBehind()
    {
        var a = File.ReadAllBytes(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        var tampered = (byte[])a.Clone();
        tampered[^1] ^= 1;
        using var server = new LocalServer(new() { ["image_A_2D.nii.gz"] = tampered });
        using var cache = TestData.Temp();
        var resolver = new DataResolver(new DataResolverOptions
        {
            EnvDataDir = null, CacheDir = cache.Path, SystemFolders = _ => [], Http = new HttpClient(new ToLocal(server.Port)),
        });
        var e = Assert.Throws<UnsupException>(() => resolver.Resolve("oasis-slice-2d"));
        Assert.Contains("checksum mismatch: SHA-256", e.Message);
        Assert.Contains("expected 9c884c6e6ef0f43d9dc6b6859b3718b9698d7d99c4b3155b9144a31affc24612", e.Message);
        var brain = Path.Combine(cache.Path, "brain");
        Assert.True(!Directory.Exists(brain) || Directory.GetFiles(brain).Length == 0, "nothing may be left in the cache");
    }

    [Fact]
    public void FashionMnistDownloadUsesPublishedMd5AndFallsBackToTheMirror()
    {
        var fm = KnownFiles.Get("fashion-mnist");
        Assert.Equal(ChecksumKind.Md5, fm.Files[0].Kind);
        Assert.Equal("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz", fm.Files[0].Urls[0]);
        Assert.Contains("/usr/share/datasets/fashion-mnist", fm.SystemFolders);
        // the published checksum of the official file is not that of a different payload: mismatch on both URLs
        using var server = new LocalServer(new() { ["train-images-idx3-ubyte.gz"] = [1, 2, 3] });
        using var cache = TestData.Temp();
        var handler = new ToLocal(server.Port);
        var resolver = new DataResolver(new DataResolverOptions { EnvDataDir = null, CacheDir = cache.Path, SystemFolders = _ => [], Http = new HttpClient(handler) });
        var e = Assert.Throws<UnsupException>(() => resolver.Resolve("fashion-mnist"));
        Assert.Contains("checksum mismatch: MD5 5289df737df57326fcdd22597afb1fac, expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d", e.Message);
        Assert.Equal(2, handler.Requested.Count);
    }
}

/// <summary>Tests that change process environment variables run alone (TestData also reads UNSUP_DATA).</summary>
[CollectionDefinition("process environment", DisableParallelization = true)]
public class ProcessEnvironmentCollection;

[Collection("process environment")]
public class DataResolverEnvironmentTests
{
    [Fact]
    public void UnsupDataAndXdgCacheHomeAreReadFromTheEnvironment()
    {
        var oldData = Environment.GetEnvironmentVariable("UNSUP_DATA");
        var oldXdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        using var env = TestData.Temp();
        using var xdg = TestData.Temp();
        try
        {
            Environment.SetEnvironmentVariable("UNSUP_DATA", env.Path);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", xdg.Path);
            var options = new DataResolverOptions { SystemFolders = _ => [], AllowDownload = false };
            Assert.Equal(env.Path, options.EnvDataDir);
            Assert.Equal(Path.Combine(xdg.Path, "unsup"), options.CacheDir);

            var syn = KnownFiles.Get("synthseg-priors");
            foreach (var f in syn.Files)
            {
                Directory.CreateDirectory(Path.Combine(env.Path, "synthseg"));
                File.WriteAllText(Path.Combine(env.Path, f.RelativePath), "x");
            }
            var r = new DataResolver(options).Resolve("synthseg-priors");
            Assert.Equal("UNSUP_DATA", r.Origin);
            Assert.Equal(Path.Combine(env.Path, "synthseg", "prior_means_t1.npy"), r.File("prior_means_t1.npy"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("UNSUP_DATA", oldData);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", oldXdg);
        }
    }
}
