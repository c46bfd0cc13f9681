using TorchSharp;
using static TorchSharp.torch;

namespace Unsup;

/// <summary>Engine settings made once at start-up: device choice, threads, seeding.</summary>
public static class TorchRuntime
{
    /// <summary>cpu | cuda | auto (cuda when available).</summary>
    public static Device ResolveDevice(string? name)
    {
        switch ((name ?? "auto").ToLowerInvariant())
        {
            case "cpu": return CPU;
            case "cuda":
                if (!cuda.is_available())
                    throw new UnsupException("--device cuda: no CUDA device is available (this build uses the CPU libtorch; rebuild with -p:TorchBackend=cuda on a machine with an NVIDIA GPU)");
                return CUDA;
            case "auto": return cuda.is_available() ? CUDA : CPU;
            default: throw new UnsupException($"--device {name}: expected cpu, cuda or auto");
        }
    }

    public static void SetThreads(int? threads)
    {
        if (threads is int t)
        {
            if (t < 1) throw new UnsupException($"--threads {t}: must be at least 1");
            torch.set_num_threads(t);
        }
    }

    /// <summary>Seeds every generator a run draws from (torch CPU/CUDA).</summary>
    public static void Seed(long seed)
    {
        torch.manual_seed(seed);
        if (cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }
}
