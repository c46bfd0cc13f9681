using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Unsup.IO.Numpy;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Bench.Registration;

/// <summary>What DIPY's SyN produced for one pair (CPU tensors on the fixed grid).</summary>
/// <param name="WarpedLabels">moving labels on the fixed grid (nearest neighbour), int64 [X, Y, Z]</param>
/// <param name="Forward">displacement moving → fixed in voxels, Unsup layout [1, 3, X, Y, Z] (channel 0 along the last axis)</param>
/// <param name="Seconds">registration + label warp wall time, measured inside the Python process (no interpreter start-up or imports)</param>
public sealed record DipySynResult(Tensor WarpedLabels, Tensor Forward, double Seconds) : IDisposable
{
    public void Dispose() { WarpedLabels.Dispose(); Forward.Dispose(); }
}

/// <summary>
/// The DIPY SyN baseline of bench/registration: runs bench/registration/dipy/syn_pair.py (Debian python3-dipy,
/// SymmetricDiffeomorphicRegistration with CCMetric(3)) on a NIfTI pair and reads its outputs back.
/// </summary>
public sealed class DipySynRegistration
{
    public string Script { get; }
    public string Python { get; }
    public int Threads { get; }
    /// <summary>Iterations per level, coarse to fine (DIPY's default is 100, 100, 25).</summary>
    public IReadOnlyList<int> LevelIterations { get; init; } = [100, 50, 25];

    public DipySynRegistration(string script, int threads = 2, string? python = null)
    {
        if (!File.Exists(script)) throw UnsupException.ForFile(script, "DIPY SyN script not found");
        Script = Path.GetFullPath(script);
        Threads = threads;
        Python = python ?? (Environment.GetEnvironmentVariable("UNSUP_PYTHON") is { Length: > 0 } p ? p
                            : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
    }

    /// <summary>The script copied next to the binary (bench/registration/dipy/syn_pair.py).</summary>
    public static DipySynRegistration Default(int threads = 2, IReadOnlyList<int>? levelIterations = null) =>
        new(Path.Combine(AppContext.BaseDirectory, "dipy", "syn_pair.py"), threads) { LevelIterations = levelIterations ?? [100, 50, 25] };

    public DipySynResult Register(string fixedImage, string movingImage, string movingLabels, string outputFolder, string? pairName = null)
    {
        pairName ??= $"{Path.GetFileName(fixedImage)} <- {Path.GetFileName(movingImage)}";
        string outDir = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(outDir);
        foreach (var f in new[] { "warped_labels.npy", "field.npy", "result.json" })
            File.Delete(Path.Combine(outDir, f));
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Script, Path.GetFullPath(fixedImage), Path.GetFullPath(movingImage), Path.GetFullPath(movingLabels), outDir,
                                  "--iters", string.Join(",", LevelIterations) })
            psi.ArgumentList.Add(a);
        // DIPY's Cython loops and NumPy's BLAS take their thread counts from these
        foreach (var v in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
            psi.Environment[v] = Threads.ToString();
        string stderr;
        int exit;
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            stderr = err.Result;
            exit = p.ExitCode;
        }
        catch (Win32Exception e)
        {
            throw new UnsupException($"{pairName}: cannot start {Python} for DIPY SyN ({e.Message}); install python3-dipy (Debian) or set UNSUP_PYTHON", e);
        }
        if (exit != 0)
            throw new UnsupException($"{pairName}: DIPY SyN ({Script}) exited with code {exit}:\n  " +
                                     string.Join("\n  ", stderr.Split('\n').Where(l => l.Trim().Length > 0).TakeLast(8)));
        using var scope = NewDisposeScope();
        var labels = NpyReader.Read(Path.Combine(outDir, "warped_labels.npy")).to(ScalarType.Int64);
        var field = DisplacementLayout.FromChannelsLast(NpyReader.Read(Path.Combine(outDir, "field.npy")).to(ScalarType.Float32));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "result.json")));
        double seconds = json.RootElement.GetProperty("seconds").GetDouble();
        return new DipySynResult(labels.MoveToOuterDisposeScope(), field.MoveToOuterDisposeScope(), seconds);
    }
}
