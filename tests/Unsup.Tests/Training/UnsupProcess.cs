using System.Diagnostics;

namespace Unsup.Tests.Training;

/// <summary>The real `unsup` binary (referenced by the test project) as a child process, for tests that kill it or run two at once.</summary>
static class UnsupProcess
{
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "unsup.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    static ProcessStartInfo Info(string[] args, bool redirect)
    {
        Assert.True(File.Exists(Dll), $"{Dll} missing (the test project references Unsup.Cli)");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = redirect, RedirectStandardError = redirect, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";   // same thread count in every run: reductions split identically
        return psi;
    }

    /// <summary>Starts unsup in the background (output discarded); the caller kills or waits.</summary>
    public static Process Start(params string[] args)
    {
        var p = Process.Start(Info(args, redirect: true))!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs unsup to its end (at most 2 minutes) and returns its exit code and output.</summary>
    public static Result Run(params string[] args)
    {
        using var p = Process.Start(Info(args, redirect: true))!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "unsup did not finish in 2 minutes");
        return new Result(p.ExitCode, stdout, err.Result);
    }

    /// <summary>Runs unsup to its end and asserts it succeeded.</summary>
    public static Result RunOk(params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == 0, $"unsup {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stdout}\n{r.Stderr}");
        return r;
    }
}
