namespace Unsup.Training;

/// <summary>
/// A small seeded generator (xoshiro256**) whose whole state is four numbers, so a checkpoint can save it
/// and a resumed run shuffles exactly as the uninterrupted one would. System.Random's state cannot be saved.
/// </summary>
public sealed class SeededRandom
{
    ulong _s0, _s1, _s2, _s3;

    public SeededRandom(long seed)
    {
        // splitmix64 spreads any seed (even 0) over the 256-bit state, as xoshiro's authors recommend
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>The full state; pass it to <see cref="SetState"/> to continue the same sequence.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4) throw new ArgumentException($"SeededRandom state has 4 words, got {state.Length}");
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("SeededRandom state cannot be all zero");
        _s0 = state[0]; _s1 = state[1]; _s2 = state[2]; _s3 = state[3];
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, maxExclusive), without modulo bias.</summary>
    public long NextInt64(long maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        ulong bound = (ulong)maxExclusive;
        ulong limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (long)(r % bound);
    }

    public int NextInt(int maxExclusive) => (int)NextInt64(maxExclusive);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random ordering of 0..n-1 (e.g. one epoch of dataset indices).</summary>
    public long[] Permutation(long n)
    {
        var p = new long[n];
        for (long i = 0; i < n; i++) p[i] = i;
        Shuffle<long>(p);
        return p;
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
