using System.Diagnostics;

namespace Unsup.Tests;

/// <summary>Where tests find real data and scratch space.</summary>
public static class TestData
{
    /// <summary>Repository root (the folder holding Unsup.slnx).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>UNSUP_DATA if set, else ../shared/data beside the repository (as on the dev and CI machines).</summary>
    public static string SharedData
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("UNSUP_DATA");
            if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env, RepoRoot);
            return Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));
        }
    }

    /// <summary>A file under the shared data folder; the test fails (not skips) when it is missing, since CI has it.</summary>
    public static string Shared(string relative)
    {
        var p = Path.Combine(SharedData, relative);
        Assert.True(File.Exists(p), $"test data missing: {p} (set UNSUP_DATA to the shared data folder)");
        return p;
    }

    /// <summary>A fresh empty folder, deleted when disposed.</summary>
    public static TempDir Temp() => new();

    static readonly object CacheGate = new();

    /// <summary>
    /// A folder of reference outputs that are slow to make (PyTorch runs), kept under the temp folder between test runs:
    /// /tmp/unsup-<paramref name="name"/>-HASH, HASH from <paramref name="key"/> (what the outputs depend on: script text,
    /// input sizes). <paramref name="make"/> fills a fresh folder; it is published by rename only when complete.
    /// Copies made under other keys, and half-made ones of killed test runs, are deleted: exit handlers never run in a
    /// killed test host, and such copies (hundreds of MB each) once filled CI's /tmp.
    /// </summary>
    public static string CachedOutputs(string name, string key, Action<string> make)
    {
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..16];
        var root = Path.GetTempPath();
        var dir = Path.Combine(root, $"unsup-{name}-{hash}");
        lock (CacheGate)
        {
            foreach (var stale in Directory.EnumerateDirectories(root, $"unsup-{name}-*"))
                if (stale != dir) { try { Directory.Delete(stale, true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
            if (File.Exists(Path.Combine(dir, ".complete"))) return dir;
            var tmp = dir + ".tmp" + Environment.ProcessId;
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            make(tmp);
            File.WriteAllText(Path.Combine(tmp, ".complete"), "");
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            Directory.Move(tmp, dir);
            return dir;
        }
    }

    /// <summary>Runs python3 with a script; returns stdout. Skips the test when python3 or a module is missing (fails it on CI: Prerequisite).</summary>
    public static string Python(string script, params string[] requiredModules)
    {
        foreach (var m in requiredModules)
            Prerequisite.Require(RunPython($"import {m}", out _, out _) == 0, $"python3 module '{m}' not installed");
        int rc = RunPython(script, out var stdout, out var stderr);
        Assert.True(rc == 0, $"python failed ({rc}):\n{stderr}");
        return stdout;
    }

    /// <summary>UNSUP_PYTHON, else Debian's /usr/bin/python3 (where apt puts python3-torch and nibabel), else python3.</summary>
    public static string PythonExe =>
        Environment.GetEnvironmentVariable("UNSUP_PYTHON") is { Length: > 0 } p ? p
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    static int RunPython(string script, out string stdout, out string stderr)
    {
        var psi = new ProcessStartInfo(PythonExe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-");
        try
        {
            using var p = Process.Start(psi)!;
            p.StandardInput.Write(script);
            p.StandardInput.Close();
            var errTask = p.StandardError.ReadToEndAsync();
            stdout = p.StandardOutput.ReadToEnd();
            stderr = errTask.Result;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            stdout = stderr = "python3 not found";
            return 127;
        }
    }

    static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Unsup.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("Unsup.slnx not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unsup-test-" + Guid.NewGuid().ToString("N")[..10]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch { } }
}
