using System.CommandLine;

namespace Unsup.Cli;

/// <summary>Options every verb accepts (declared once on the root, inherited by subcommands).</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Device = new("--device")
    {
        Description = "Compute device: cpu, cuda or auto (cuda when available)",
        DefaultValueFactory = _ => "auto",
        Recursive = true,
    };

    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "CPU threads for tensor work (default: libtorch's choice, usually the core count)",
        Recursive = true,
    };

    public static readonly Option<long> Seed = new("--seed")
    {
        Description = "Random seed (runs with the same seed and settings repeat exactly on CPU)",
        DefaultValueFactory = _ => 0,
        Recursive = true,
    };

    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "Print only results and errors (no progress)",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show stack traces on errors",
        Recursive = true,
    };

    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Folder searched first for named datasets and models (else UNSUP_DATA, the user cache, system folders)",
        Recursive = true,
    };

    static GlobalOptions() => Device.AcceptOnlyFromAmong("cpu", "cuda", "auto");

    public static void AddTo(RootCommand root)
    {
        foreach (var o in new Option[] { Device, Threads, Seed, Quiet, Verbose, DataDir }) root.Options.Add(o);
    }

    /// <summary>Applies threads/seed and returns the device; call at the start of every action that computes.</summary>
    public static TorchSharp.torch.Device Apply(ParseResult r)
    {
        TorchRuntime.SetThreads(r.GetValue(Threads));
        TorchRuntime.Seed(r.GetValue(Seed));
        return TorchRuntime.ResolveDevice(r.GetValue(Device));
    }
}
