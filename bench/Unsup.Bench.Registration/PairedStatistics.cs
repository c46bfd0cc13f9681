namespace Unsup.Bench.Registration;

/// <summary>A mean with its 95 % percentile-bootstrap interval.</summary>
public readonly record struct MeanInterval(double Mean, double Low, double High, int Count)
{
    public static readonly MeanInterval Empty = new(double.NaN, double.NaN, double.NaN, 0);
}

/// <summary>
/// The benchmark's statistics over pairs: means with percentile-bootstrap 95 % intervals (pairs resampled with
/// replacement), and paired differences of two methods on the same pairs (the interval of the mean difference,
/// which is much narrower than comparing two separate intervals when pairs differ in difficulty). Seeded, so a
/// report is reproducible.
/// </summary>
public static class PairedStatistics
{
    public const int DefaultResamples = 10_000;

    /// <summary>Mean of the finite values and its bootstrap interval (level 0.95 by default).</summary>
    public static MeanInterval Bootstrap(IReadOnlyList<double> values, int resamples = DefaultResamples, double level = 0.95, int seed = 12345)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return MeanInterval.Empty;
        double mean = v.Average();
        if (v.Length == 1) return new MeanInterval(mean, mean, mean, 1);
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double s = 0;
            for (int i = 0; i < v.Length; i++) s += v[rng.Next(v.Length)];
            means[b] = s / v.Length;
        }
        Array.Sort(means);
        double alpha = (1 - level) / 2;
        return new MeanInterval(mean, Quantile(means, alpha), Quantile(means, 1 - alpha), v.Length);
    }

    /// <summary>Mean of a[i] − b[i] over the pairs where both are finite, with its bootstrap interval.</summary>
    public static MeanInterval PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b, int resamples = DefaultResamples, double level = 0.95, int seed = 12345)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired lists differ in length ({a.Count} vs {b.Count})");
        var d = Enumerable.Range(0, a.Count).Where(i => double.IsFinite(a[i]) && double.IsFinite(b[i])).Select(i => a[i] - b[i]).ToList();
        return Bootstrap(d, resamples, level, seed);
    }

    /// <summary>Linear interpolation between order statistics of a sorted array (type 7, as NumPy's default).</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
