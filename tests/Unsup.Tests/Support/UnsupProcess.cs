using System.Diagnostics;

namespace Unsup.Tests;

/// <summary>The real `unsup` CLI (unsup.dll is copied beside the tests) as a child process.</summary>
public static class UnsupProcess
{
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "unsup.dll");

    /// <summary>Longest a test's CLI run may take; a hung process fails the test instead of the whole suite.</summary>
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    static ProcessStartInfo Info(IDictionary<string, string>? env, string[] args)
    {
        Assert.True(File.Exists(Dll), $"{Dll} missing (the test project references Unsup.Cli)");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";   // same thread count in every run: reductions split identically
        psi.Environment["COLUMNS"] = "200";         // wide tables: no wrapped values in assertions
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public static Result Run(params string[] args) => Run(null, args);

    /// <summary>Runs unsup to its end and returns its exit code and output.</summary>
    public static Result Run(IDictionary<string, string>? env, params string[] args)
    {
        using var p = Process.Start(Info(env, args))!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"unsup {string.Join(' ', args)} did not finish in {Timeout.TotalMinutes} minutes");
        }
        return new Result(p.ExitCode, stdout.Result, err.Result);
    }

    /// <summary>Runs unsup to its end and asserts it succeeded.</summary>
    public static Result RunOk(params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == 0, $"unsup {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    /// <summary>Starts unsup in the background (output discarded); the caller kills or waits.</summary>
    public static Process Start(params string[] args)
    {
        var p = Process.Start(Info(null, args))!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
