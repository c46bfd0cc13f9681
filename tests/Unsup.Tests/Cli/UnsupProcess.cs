using System.Diagnostics;

namespace Unsup.Tests.Cli;

/// <summary>Runs the real `unsup` CLI (unsup.dll is copied beside the tests) as a child process.</summary>
public static class UnsupProcess
{
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "unsup.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => Run(null, args);

    public static Result Run(IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        psi.Environment["COLUMNS"] = "200"; // wide tables: no wrapped values in assertions
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, stdout, err.Result);
    }
}
