using Unsup.Bench.Registration;

namespace Unsup.Bench.Tests;

public class BenchReportTests
{
    static readonly List<BenchRow> Rows =
    [
        new("no registration", [0.2, 0.4], [], [], "identity"),
        new("elastix", [0.5, 0.7, 0.6], [0.0, 0.03, 0.0], [20, 30, 40], "affine | B-spline"),
    ];

    [Fact]
    public void Summary_is_mean_and_sample_std_of_finite_values()
    {
        var s = BenchReport.Summary([1.0, 2.0, 3.0, double.NaN]);
        Assert.Equal(3, s.Count);
        Assert.Equal(2.0, s.Mean, 12);
        Assert.Equal(1.0, s.Std, 12);
        Assert.Equal(0.0, BenchReport.Summary([5.0]).Std);
        Assert.True(double.IsNaN(BenchReport.Summary([]).Mean));
    }

    [Fact]
    public void Table_has_one_row_per_method_with_its_numbers()
    {
        var lines = BenchReport.Table(Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("| method | pairs | Dice mean ± std | % det J <= 0 (mean) | s/pair (mean) | note |", lines[0]);
        Assert.Equal("| no registration | 2 | 0.300 ± 0.141 | – | – | identity |", lines[2]);
        // mean fold 0.01 %, mean 30 s; the pipe in the note is escaped so the table keeps its columns
        Assert.Equal("| elastix | 3 | 0.600 ± 0.100 | 0.01 | 30 | affine \\| B-spline |", lines[3]);
    }

    [Fact]
    public void Markdown_and_chart_files_are_written()
    {
        using var tmp = TestData.Temp();
        BenchReport.WriteMarkdown(tmp.File("r.md"), Rows, "bench/registration", "2 pairs");
        var md = File.ReadAllText(tmp.File("r.md"));
        Assert.StartsWith("# bench/registration\n\n2 pairs\n\n| method |", md);
        Assert.Contains("| elastix | 3 | 0.600 ± 0.100 |", md);

        BenchReport.WriteChart(tmp.File("r.png"), Rows, "test");
        var png = File.ReadAllBytes(tmp.File("r.png"));
        Assert.True(png.Length > 5000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(1200, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16))); // IHDR width: two 600 px panels
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));
    }
}
