namespace Unsup.Training;

/// <summary>Seeding for a reproducible run: same seed, same machine, same thread count → same weights.</summary>
public static class Determinism
{
    /// <summary>
    /// Seeds torch's CPU (and CUDA) generators and returns the run's C#-side generator (for dataset
    /// shuffling and augmentation choices) seeded from the same number.
    /// </summary>
    /// <remarks>
    /// TorchSharp 0.107 marks torch.use_deterministic_algorithms "not implemented" (obsolete, compile error),
    /// so libtorch's deterministic-kernel switch cannot be set from here. On the CPU the ops we use are
    /// deterministic anyway; a few CUDA backward kernels (atomics) are not, so CUDA runs are reproducible only
    /// approximately. CPU results also depend on the thread count (reductions split differently), so a
    /// resumed run must use the same --threads.
    /// </remarks>
    public static SeededRandom Seed(long seed)
    {
        TorchRuntime.Seed(seed);
        // a different stream from torch's: the C# generator must not replay torch's numbers
        return new SeededRandom(seed ^ 0x5DEECE66DL);
    }
}
