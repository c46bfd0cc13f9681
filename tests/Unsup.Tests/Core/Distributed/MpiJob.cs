using System.Diagnostics;

namespace Unsup.Tests.Core.Distributed;

/// <summary>Runs the CLI under MPICH's mpiexec with N ranks (tests skip where MPICH is not installed).</summary>
public static class MpiJob
{
    public const string Mpiexec = "/usr/bin/mpiexec.mpich";

    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed);

    public static void SkipWithoutMpich() => Skip.IfNot(File.Exists(Mpiexec) && File.Exists("/usr/lib/x86_64-linux-gnu/libmpich.so.12"),
        "MPICH (mpiexec.mpich, libmpich.so.12) is not installed");

    public static Process Start(int ranks, params string[] args)
    {
        var psi = new ProcessStartInfo(Mpiexec) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-n", ranks.ToString(), "dotnet", "exec", UnsupProcess.Dll }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["UNSUP_DATA"] = TestData.SharedData;
        return Process.Start(psi)!;
    }

    public static Result Run(int ranks, params string[] args) => Wait(Start(ranks, args), TimeSpan.FromMinutes(3));

    public static Result Wait(Process p, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec did not end within {timeout}: {err.Result}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, output.Result, err.Result, sw.Elapsed);
    }

    /// <summary>The pids of the job's processes that are rank <paramref name="rank"/> (found through PMI_RANK in their environment).</summary>
    public static List<int> RankPids(Process mpiexec, int rank)
    {
        var found = new List<int>();
        var descendants = new HashSet<int> { mpiexec.Id };
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid) || descendants.Contains(pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    int ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                    if (descendants.Contains(ppid)) { descendants.Add(pid); grew = true; }
                }
                catch (IOException) { }
            }
        }
        foreach (int pid in descendants)
        {
            try
            {
                var env = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (env.Contains($"PMI_RANK={rank}") && File.ReadAllText($"/proc/{pid}/comm").StartsWith("dotnet")) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }
}
