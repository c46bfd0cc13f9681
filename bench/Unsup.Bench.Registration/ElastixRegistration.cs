using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using TorchSharp;
using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Bench.Registration;

/// <summary>What one elastix registration of a pair produced (tensors on the CPU, fixed image grid).</summary>
/// <param name="WarpedLabels">moving labels resampled onto the fixed grid by nearest neighbour, int64, axis order of <see cref="NiftiReader.Read"/>'s Data</param>
/// <param name="JacobianDeterminant">det of the spatial Jacobian of the fixed→moving transform at each fixed voxel, float32</param>
/// <param name="FoldingPercent">% of all fixed-grid voxels with det J &lt;= 0 (see <see cref="ElastixRegistration.FoldingPercent"/> for a masked figure)</param>
/// <param name="RegistrationSeconds">wall time of elastix (affine, then B-spline unless affine only)</param>
/// <param name="WarpSeconds">wall time of transformix warping the labels</param>
/// <param name="JacobianSeconds">wall time of transformix computing det J (not part of a registration's cost)</param>
/// <param name="OutputFolder">elastix/transformix files and console logs of this pair</param>
public sealed record ElastixResult(
    Tensor WarpedLabels,
    Tensor JacobianDeterminant,
    double FoldingPercent,
    double RegistrationSeconds,
    double WarpSeconds,
    double JacobianSeconds,
    string OutputFolder) : IDisposable
{
    public void Dispose()
    {
        WarpedLabels.Dispose();
        JacobianDeterminant.Dispose();
    }
}

/// <summary>
/// The elastix baseline of bench/registration: runs the elastix executable (affine then B-spline parameter
/// files) on a fixed/moving NIfTI pair, warps the moving labels with transformix by nearest neighbour and
/// computes the det J map with transformix -jac all.
/// </summary>
/// <remarks>
/// elastix reads the NIfTI qform/sform like every ITK tool and works in physical (mm) coordinates; the
/// label result is written on the fixed image's grid with the fixed image's geometry, which
/// <see cref="Register"/> checks against the fixed header before returning voxel data.
/// </remarks>
public sealed class ElastixRegistration
{
    public string AffineParameterFile { get; }
    /// <summary>The deformable stage (null: the affine stage alone).</summary>
    public string? BSplineParameterFile { get; }
    public int Threads { get; }
    public string ElastixExecutable { get; }
    public string TransformixExecutable { get; }

    /// <param name="threads">elastix/transformix -threads (the machine's cores are shared: keep it small)</param>
    /// <param name="elastix">executable name (looked up on PATH) or path</param>
    /// <param name="bsplineParameterFile">null: affine registration only</param>
    public ElastixRegistration(string affineParameterFile, string? bsplineParameterFile, int threads = 2,
                               string elastix = "elastix", string transformix = "transformix")
    {
        foreach (var p in new[] { affineParameterFile, bsplineParameterFile }.OfType<string>())
            if (!File.Exists(p)) throw UnsupException.ForFile(p, "elastix parameter file not found");
        if (threads < 1) throw new UnsupException($"elastix threads must be >= 1 (got {threads})");
        AffineParameterFile = Path.GetFullPath(affineParameterFile);
        BSplineParameterFile = bsplineParameterFile is null ? null : Path.GetFullPath(bsplineParameterFile);
        Threads = threads;
        ElastixExecutable = elastix;
        TransformixExecutable = transformix;
    }

    /// <summary>The benchmark's own parameter files (bench/registration/elastix/affine.txt, bspline.txt), copied next to the binary.</summary>
    /// <param name="affineOnly">the affine stage alone (the bench's "affine only" row)</param>
    /// <param name="voxelMm">voxel size of the images: from 3 mm on, bspline-3mm.txt (control points 5 voxels apart, as bspline.txt at 2 mm)</param>
    public static ElastixRegistration Default(int threads = 2, bool affineOnly = false, double voxelMm = 2)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "elastix");
        return new ElastixRegistration(Path.Combine(dir, "affine.txt"), affineOnly ? null : Path.Combine(dir, BSplineFileFor(voxelMm)), threads);
    }

    /// <summary>The B-spline parameter file for a voxel size: bspline.txt (tuned at 2 mm) or bspline-3mm.txt.</summary>
    public static string BSplineFileFor(double voxelMm) => voxelMm >= 3 ? "bspline-3mm.txt" : "bspline.txt";

    /// <summary>
    /// Registers <paramref name="movingImage"/> to <paramref name="fixedImage"/> and warps <paramref name="movingLabels"/>
    /// (a label map on the moving image's grid) onto the fixed grid. Files go to <paramref name="outputFolder"/>
    /// (created; earlier elastix outputs there are overwritten).
    /// </summary>
    /// <param name="pairName">names the pair in error messages (default: "fixed ← moving" file names)</param>
    public ElastixResult Register(string fixedImage, string movingImage, string movingLabels, string outputFolder, string? pairName = null)
    {
        foreach (var p in new[] { fixedImage, movingImage, movingLabels })
            if (!File.Exists(p)) throw UnsupException.ForFile(p, "image not found");
        pairName ??= $"{Path.GetFileName(fixedImage)} <- {Path.GetFileName(movingImage)}";
        string outDir = Path.GetFullPath(outputFolder);
        string regDir = Path.Combine(outDir, "elastix");
        string warpDir = Path.Combine(outDir, "labels");
        string jacDir = Path.Combine(outDir, "jacobian");
        foreach (var d in new[] { regDir, warpDir, jacDir }) Recreate(d);

        var fixedHeader = NiftiReader.ReadHeader(fixedImage);
        long[] fixedShape = fixedHeader.Shape.Take(3).ToArray();

        string[] stages = BSplineParameterFile is null ? [AffineParameterFile] : [AffineParameterFile, BSplineParameterFile];
        double regSeconds = Run(ElastixExecutable,
            ["-f", Path.GetFullPath(fixedImage), "-m", Path.GetFullPath(movingImage), "-out", regDir,
             .. stages.SelectMany(p => new[] { "-p", p }), "-threads", Threads.ToString()],
            regDir, "elastix", pairName);
        var tps = Enumerable.Range(0, stages.Length).Select(k => Path.Combine(regDir, $"TransformParameters.{k}.txt")).ToArray();
        foreach (var tp in tps)
            if (!File.Exists(tp)) throw Failure(pairName, "elastix", regDir, $"wrote no {Path.GetFileName(tp)}");

        // Labels must stay label ids: nearest neighbour (B-spline order 0) and an integer result type, in
        // every file of the chain. The B-spline file points at the affine one by path, so the rewritten copy
        // of the B-spline file must point at the rewritten copy of the affine file.
        string? previous = null;
        foreach (var (tp, k) in tps.Select((t, k) => (t, k)))
        {
            string nn = Path.Combine(warpDir, $"TransformParameters.nn.{k}.txt");
            File.WriteAllText(nn, ForLabels(File.ReadAllText(tp), initial: previous));
            previous = nn;
        }
        double warpSeconds = Run(TransformixExecutable,
            ["-in", Path.GetFullPath(movingLabels), "-out", warpDir, "-tp", previous!, "-threads", Threads.ToString()],
            warpDir, "transformix", pairName);
        double jacSeconds = Run(TransformixExecutable,
            ["-jac", "all", "-out", jacDir, "-tp", tps[^1], "-threads", Threads.ToString()],
            jacDir, "transformix", pairName);

        string labelsPath = FindResult(warpDir, "result", pairName);
        string jacPath = FindResult(jacDir, "spatialJacobian", pairName);

        using var scope = NewDisposeScope();
        using var warpedImage = NiftiReader.Read(labelsPath);
        using var jacImage = NiftiReader.Read(jacPath);
        CheckGrid(labelsPath, warpedImage, fixedShape, fixedHeader, pairName);
        CheckGrid(jacPath, jacImage, fixedShape, fixedHeader, pairName);
        var warped = warpedImage.Data.to_type(ScalarType.Int64);
        CheckLabelsSubset(warped, movingLabels, labelsPath, pairName);
        var detJ = jacImage.Data.to_type(ScalarType.Float32);
        double folding = FoldingPercent(detJ);
        return new ElastixResult(warped.MoveToOuterDisposeScope(), detJ.MoveToOuterDisposeScope(), folding,
                                 regSeconds, warpSeconds, jacSeconds, outDir);
    }

    /// <summary>100 × the fraction of voxels with det J &lt;= 0, over the whole map or where <paramref name="mask"/> is nonzero.</summary>
    public static double FoldingPercent(Tensor detJ, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var folded = detJ <= 0;
        if (mask is null) return 100.0 * folded.to_type(ScalarType.Float64).mean().item<double>();
        if (!mask.shape.SequenceEqual(detJ.shape))
            throw new ArgumentException($"mask shape [{string.Join(", ", mask.shape)}] differs from det J's [{string.Join(", ", detJ.shape)}]");
        var m = mask != 0;
        long n = m.sum().item<long>();
        return n == 0 ? double.NaN : 100.0 * (folded & m).sum().item<long>() / n;
    }

    /// <summary>
    /// A TransformParameters text rewritten for warping label maps (nearest neighbour, int output, nii.gz);
    /// <paramref name="initial"/> replaces the path of the transform it composes with (null: keep it).
    /// </summary>
    public static string ForLabels(string parameters, string? initial)
    {
        var s = SetParameter(parameters, "FinalBSplineInterpolationOrder", "0");
        s = SetParameter(s, "ResultImagePixelType", "\"int\"");
        s = SetParameter(s, "ResultImageFormat", "\"nii.gz\"");
        s = SetParameter(s, "WriteResultImage", "\"true\"");
        s = SetParameter(s, "DefaultPixelValue", "0");
        if (initial != null) s = SetParameter(s, "InitialTransformParametersFileName", $"\"{initial}\"");
        return s;
    }

    /// <summary>Replaces "(Name ...)" in an elastix parameter text, or appends it when absent.</summary>
    public static string SetParameter(string parameters, string name, string value)
    {
        var re = new Regex($@"^\s*\({Regex.Escape(name)}\s[^\r\n]*\)", RegexOptions.Multiline);
        string line = $"({name} {value})";
        return re.IsMatch(parameters)
            ? re.Replace(parameters, line.Replace("$", "$$"), 1)
            : parameters.TrimEnd() + "\n" + line + "\n";
    }

    static void Recreate(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(dir, $"cannot prepare the elastix output folder ({e.Message})", e); }
    }

    /// <summary>Runs a tool with its console output going to TOOL.console.log in <paramref name="dir"/>; returns wall seconds.</summary>
    static double Run(string exe, string[] args, string dir, string tool, string pairName)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        string consoleLog = Path.Combine(dir, $"{tool}.console.log");
        var sw = Stopwatch.StartNew();
        int exit;
        using (var log = new StreamWriter(consoleLog))
        {
            var gate = new object();
            using var p = new Process { StartInfo = psi };
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (gate) log.WriteLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (gate) log.WriteLine(e.Data); };
            try { p.Start(); }
            catch (Win32Exception e)
            {
                throw new UnsupException($"{pairName}: cannot start {tool} ({exe}: {e.Message}); install it (Debian/Ubuntu: apt-get install elastix) or pass its path", e);
            }
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            p.WaitForExit();
            exit = p.ExitCode;
        }
        sw.Stop();
        if (exit != 0) throw Failure(pairName, tool, dir, $"exited with code {exit}");
        return sw.Elapsed.TotalSeconds;
    }

    static UnsupException Failure(string pairName, string tool, string dir, string problem)
    {
        // The tool's own log is the informative one (parameter errors, "too many samples map outside"...);
        // the console log covers failures before it opens its log.
        string log = Path.Combine(dir, $"{tool}.log");
        if (!File.Exists(log)) log = Path.Combine(dir, $"{tool}.console.log");
        string tail = File.Exists(log)
            ? string.Join("\n", File.ReadLines(log).Where(l => l.Trim().Length > 0).TakeLast(10).Select(l => "  " + l))
            : "  (no log written)";
        return new UnsupException($"{pairName}: {tool} {problem}; last lines of {log}:\n{tail}");
    }

    static string FindResult(string dir, string stem, string pairName)
    {
        var hits = Directory.GetFiles(dir, stem + ".nii*");
        if (hits.Length == 0) throw Failure(pairName, "transformix", dir, $"wrote no {stem}.nii.gz");
        return hits[0];
    }

    static void CheckGrid(string path, NiftiImage image, long[] fixedShape, NiftiHeader fixedHeader, string pairName)
    {
        var shape = image.Shape.Take(3).ToArray();
        if (image.Shape.Length < 3 || image.Shape.Skip(3).Any(s => s != 1) || !shape.SequenceEqual(fixedShape))
            throw UnsupException.ForFile(path, $"{pairName}: transformix output has shape [{string.Join(", ", image.Shape)}], " +
                                               $"the fixed image [{string.Join(", ", fixedShape)}]");
        // Same voxel→mm mapping as the fixed image, else the voxel arrays are not comparable (flipped axes).
        var a = NiftiAffine.Best(image.Header);
        var b = NiftiAffine.Best(fixedHeader);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                if (Math.Abs(a[i, j] - b[i, j]) > 1e-3 * Math.Max(1, Math.Abs(b[i, j])))
                    throw UnsupException.ForFile(path, $"{pairName}: transformix output's voxel-to-world affine differs from the fixed image's " +
                                                       $"(row {i}, column {j}: {a[i, j]:G6} vs {b[i, j]:G6})");
    }

    static void CheckLabelsSubset(Tensor warped, string movingLabels, string labelsPath, string pairName)
    {
        using var scope = NewDisposeScope();
        using var moving = NiftiReader.Read(movingLabels);
        var allowed = moving.Data.to_type(ScalarType.Int64).flatten().unique().Item1;
        var got = warped.flatten().unique().Item1;
        // background 0 appears where the warp maps outside the moving image (DefaultPixelValue)
        allowed = cat([allowed, zeros(1, ScalarType.Int64)]);
        var extra = got[logical_not(isin(got, allowed))];
        if (extra.numel() > 0)
            throw UnsupException.ForFile(labelsPath, $"{pairName}: warped labels hold values absent from {movingLabels} " +
                                                     $"(e.g. {string.Join(", ", extra.data<long>().ToArray().Take(5))}): not a nearest-neighbour warp");
    }
}
