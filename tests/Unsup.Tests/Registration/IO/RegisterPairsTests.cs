using System.Globalization;
using Unsup.IO.Nifti;
using Unsup.Registration.IO;
using Unsup.Registration.Model;
using static TorchSharp.torch;

using Unsup.Tests.Core.Distributed;

namespace Unsup.Tests.Registration.IO;

/// <summary>`symnet register --pairs`: one process and two ranks give the same per-pair results, one folder per pair, one summary.</summary>
public class RegisterPairsTests
{
    static string Blob(TempDir dir, string name, double shift)
    {
        var a = linspace(-1, 1, 32);
        var g = meshgrid([a, a, a], indexing: "ij");
        var img = exp(-((g[0] - shift).square() + g[1].square() * 1.5 + g[2].square()) * 3).to(ScalarType.Float32);
        string p = dir.File(name + ".nii.gz");
        NiftiWriter.Write(p, NiftiImage.Create(img, new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }));
        return p;
    }

    static (string csv, string weights) Inputs(TempDir dir)
    {
        string a = Blob(dir, "a", 0), b = Blob(dir, "b", 0.1), c = Blob(dir, "c", -0.1);
        TorchRuntime.Seed(5);
        using (var net = new SymNet(4, 3)) SymNetWeights.Save(net, dir.File("small.pth"));
        string csv = dir.File("pairs.csv");
        File.WriteAllText(csv, "fixed,moving,name\na.nii.gz,b.nii.gz,ab\nb.nii.gz,c.nii.gz,bc\nc.nii.gz,a.nii.gz,ca\na.nii.gz,missing.nii.gz,bad\n");
        return (csv, dir.File("small.pth"));
    }

    static string[][] Rows(string outDir) => File.ReadAllLines(Path.Combine(outDir, "summary.csv")).Skip(1).Select(l => l.Split(',')).ToArray();

    [SkippableFact]
    public void TwoRanksSplitTheListAndGatherOneSummary()
    {
        MpiJob.SkipWithoutMpich();
        using var dir = TestData.Temp();
        var (csv, weights) = Inputs(dir);
        string one = dir.File("one"), two = dir.File("two");
        var a = UnsupProcess.Run("symnet", "register", "--pairs", csv, "--model", weights, "--out", one, "--no-overview", "--threads", "1");
        Assert.Equal(1, a.ExitCode);                                 // one pair failed: the others still ran
        Assert.Contains("registered 3/4 pairs", a.Stdout);
        var b = MpiJob.Run(2, "symnet", "register", "--pairs", csv, "--model", weights, "--out", two, "--no-overview", "--threads", "1");
        Assert.True(b.ExitCode == 1, b.Stderr);
        Assert.Contains("registered 3/4 pairs", b.Stdout);

        var r1 = Rows(one); var r2 = Rows(two);
        Assert.Equal(new[] { "0", "1", "2", "3" }, r2.Select(r => r[0]));      // list order, whoever ran the pair
        Assert.Equal(new[] { "0", "1", "0", "1" }, r2.Select(r => r[11]));     // pair i ran on rank i mod 2
        Assert.All(r1, r => Assert.Equal("0", r[11]));
        Assert.Contains("missing.nii.gz", r2[3][12]);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(File.Exists(Path.Combine(two, r2[i][1], "forward_field.nii.gz")), r2[i][1]);
            for (int col = 8; col <= 10; col++)   // % det J <= 0, std log det J, inverse consistency: the same pair gives the same numbers
                Assert.Equal(double.Parse(r1[i][col], CultureInfo.InvariantCulture), double.Parse(r2[i][col], CultureInfo.InvariantCulture), 4);
        }
    }

    [Fact]
    public void TheListNamesItsColumnsAndFolders()
    {
        using var dir = TestData.Temp();
        string csv = dir.File("p.csv");
        File.WriteAllText(csv, "moving,fixed\nm.nii.gz,f.nii.gz\n/abs/m2.nii,/abs/f2.nii\n");
        var pairs = RegisterPairsJob.ReadPairs(csv);
        Assert.Equal(Path.Combine(dir.Path, "f.nii.gz"), pairs[0].Fixed);
        Assert.Equal("/abs/m2.nii", pairs[1].Moving);
        Assert.Equal(new[] { "pair_0001", "pair_0002" }, pairs.Select(p => p.Name));
        File.WriteAllText(csv, "fixed,moving,name\na,b,x\nc,d,x\n");
        Assert.Contains("'x' appears 2 times", Assert.Throws<UnsupException>(() => RegisterPairsJob.ReadPairs(csv)).Message);
        File.WriteAllText(csv, "field,moving\na,b\n");
        Assert.Contains("'fixed' and 'moving'", Assert.Throws<UnsupException>(() => RegisterPairsJob.ReadPairs(csv)).Message);
    }
}
