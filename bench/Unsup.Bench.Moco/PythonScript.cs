using System.Diagnostics;

namespace Unsup.Bench.Moco;

/// <summary>Runs a Python script shipped next to this binary with UNSUP_PYTHON or Debian's /usr/bin/python3.</summary>
public static class PythonScript
{
    public static string Exe =>
        Environment.GetEnvironmentVariable("UNSUP_PYTHON") is { Length: > 0 } p ? p
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The script's stdout; UnsupException naming the script and Python's stderr when it fails or is missing.</summary>
    public static string Run(string scriptName, params string[] args)
    {
        string script = Path.Combine(AppContext.BaseDirectory, scriptName);
        if (!File.Exists(script)) throw UnsupException.ForFile(script, "bench script not found next to the binary");
        var psi = new ProcessStartInfo(Exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new UnsupException($"{Exe}: cannot start Python ({e.Message}); set UNSUP_PYTHON"); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw UnsupException.ForFile(script, $"{Exe} exited with {p.ExitCode} (needs torch and torchvision):\n{err.Result.Trim()}");
            return stdout;
        }
    }
}
