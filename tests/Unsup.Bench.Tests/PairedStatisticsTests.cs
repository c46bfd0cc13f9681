using Unsup.Bench.Registration;

namespace Unsup.Tests.Bench;

/// <summary>Bootstrap means and paired differences of bench/registration on cases with a known answer.</summary>
public class PairedStatisticsTests
{
    [Fact]
    public void ConstantDifferencesHaveAZeroWidthInterval()
    {
        double[] a = [0.50, 0.61, 0.72, 0.40, 0.55];
        var b = a.Select(x => x - 0.03).ToArray();
        var d = PairedStatistics.PairedDifference(a, b);
        Assert.Equal(0.03, d.Mean, 12);
        Assert.Equal(0.03, d.Low, 12);
        Assert.Equal(0.03, d.High, 12);
        Assert.Equal(5, d.Count);
        // unpaired, the same means would give a wide interval: pairing is what makes the difference precise
        var m = PairedStatistics.Bootstrap(a);
        Assert.True(m.High - m.Low > 0.1, $"{m}");
    }

    [Fact]
    public void BootstrapIntervalMatchesTheNormalTheoryIntervalOnALargeSample()
    {
        // 400 draws of N(1, 2²): the 95 % interval of the mean is about mean ± 1.96·s/√n
        var rng = new Random(1);
        var x = Enumerable.Range(0, 400).Select(_ => 1 + 2 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();
        var (mean, std, _) = BenchReport.Summary(x);
        var ci = PairedStatistics.Bootstrap(x, resamples: 20_000);
        double half = 1.96 * std / Math.Sqrt(x.Length);
        Assert.Equal(mean, ci.Mean, 12);
        Assert.InRange(ci.Low, mean - half * 1.1, mean - half * 0.9);
        Assert.InRange(ci.High, mean + half * 0.9, mean + half * 1.1);
        Assert.Equal(ci, PairedStatistics.Bootstrap(x, resamples: 20_000));   // seeded: reproducible
    }

    [Fact]
    public void QuantileNaNsAndMismatchedPairs()
    {
        Assert.Equal(2.5, PairedStatistics.Quantile([1, 2, 3, 4], 0.5), 12);
        Assert.Equal(1.3, PairedStatistics.Quantile([1, 2, 3, 4], 0.1), 12);
        var d = PairedStatistics.PairedDifference([1, double.NaN, 3], [0, 5, 1]);
        Assert.Equal(2, d.Count);   // the pair with a NaN is left out
        Assert.Equal(1.5, d.Mean, 12);
        Assert.Equal(0, PairedStatistics.Bootstrap([]).Count);
        Assert.Throws<ArgumentException>(() => PairedStatistics.PairedDifference([1, 2], [1]));
    }

    [Fact]
    public void ComparisonTableReportsDifferencesAgainstTheBestClassicalRow()
    {
        List<BenchRow> rows =
        [
            new("none", [0.3, 0.4, 0.5], [0, 0, 0], [], StdLogJacobian: [0, 0, 0]),
            new("affine", [0.4, 0.5, 0.6], [0, 0, 0], [1, 1, 1], Classical: true, StdLogJacobian: [0.1, 0.1, 0.1]),
            new("syn", [0.6, 0.7, 0.8], [0.1, 0.1, 0.1], [30, 30, 30], Classical: true, StdLogJacobian: [0.2, 0.2, 0.2]),
            new("net", [0.65, 0.75, 0.85], [0.2, 0.2, 0.2], [0.5, 0.5, 0.5], StdLogJacobian: [0.3, 0.3, 0.3]),
        ];
        var best = BenchReport.BestClassical(rows)!;
        Assert.Equal("syn", best.Method);
        var lines = BenchReport.ComparisonTable(rows, best).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("ΔDice vs syn", lines[0]);
        Assert.StartsWith("| syn | 3 | 0.700 [", lines[4]);
        Assert.Contains("(reference)", lines[4]);
        // net − syn is +0.05 on every pair: zero-width interval; std log det J +0.1
        Assert.StartsWith("| net | 3 | 0.750 [0.650, 0.850] | +0.050 [0.050, 0.050] | 0.2000 [0.2000, 0.2000] | +0.1000 [0.1000, 0.1000] | 0.300 | +0.100 [0.100, 0.100] | 0.50 |", lines[5]);
        Assert.Contains("| none | 3 | 0.400 [", lines[2]);
        Assert.Contains("-0.300 [-0.300, -0.300]", lines[2]);
    }
}
