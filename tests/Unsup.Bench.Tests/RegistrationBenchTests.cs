using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Bench.Tests;

/// <summary>bench/registration's driver on any folder of label maps (here tiny non-FreeSurfer ones).</summary>
public class RegistrationBenchTests
{
    [Fact]
    public void AnyLabelMapFolderGivesATableAChartAndPerPairRows()
    {
        using var dir = TestData.Temp();
        Directory.CreateDirectory(dir.File("maps"));
        for (int s = 0; s < 4; s++)
        {
            using var scope = NewDisposeScope();
            var l = zeros([28, 28, 28], ScalarType.Int16);
            l[TensorIndex.Slice(4 + s, 22 + s), TensorIndex.Slice(4, 24), TensorIndex.Slice(4, 24)] = tensor((short)1);
            l[TensorIndex.Slice(9 + s, 17 + s), TensorIndex.Slice(9, 19), TensorIndex.Slice(9, 19)] = tensor((short)5);
            NiftiWriter.Write(dir.File($"maps/m{s}.nii.gz"), NiftiImage.Create(l, null, "", NiftiIntent.Label));
        }
        string out_ = dir.File("out");
        int rc = Unsup.Bench.Registration.Program.Main(["--label-maps", dir.File("maps"), "--out", out_, "--downsample", "1", "--val", "2", "--threads", "1", "--no-elastix", "--no-dipy",
            "--contrasts", "2", "--max-pairs", "3"]);
        Assert.Equal(0, rc);
        var md = File.ReadAllText(Path.Combine(out_, "registration.md"));
        Assert.Contains("| no registration | 3 |", md);
        Assert.Contains("3 ordered pairs (fixed<-moving), a seeded random subset of 8,", md);   // 2 subjects x 2 syntheses: 2 x 2 x 2 pairs
        Assert.True(md.Contains("the 2 labels present in every subject (1, 5;"), md);   // not FreeSurfer ids: every common label counts
        Assert.True(new FileInfo(Path.Combine(out_, "registration.png")).Length > 1000);
        var csv = File.ReadAllLines(Path.Combine(out_, "pairs.csv"));
        Assert.Equal(1 + 3, csv.Length);                                // header + 3 ordered pairs
        Assert.Matches("^\"no registration\",m[23]c[01]<-m[23]c[01],", csv[1]);
        Assert.DoesNotContain(csv.Skip(1), l => l.Contains("m2c0<-m2") || l.Contains("m3c0<-m3") || l.Contains("m2c1<-m2") || l.Contains("m3c1<-m3")); // different subjects only
        Assert.Equal(2, Unsup.Bench.Registration.Program.Main(["--out", out_]));   // usage error
    }
}

/// <summary>`label-fit`: one pair aligned by the label term alone, on the velocities or through a fresh network.</summary>
public class LabelFitTests
{
    static string[] Maps(TempDir dir)
    {
        var paths = new string[2];
        for (int s = 0; s < 2; s++)
        {
            using var scope = NewDisposeScope();
            var l = zeros([32, 32, 32], ScalarType.Int16);
            l[TensorIndex.Slice(6, 26), TensorIndex.Slice(6, 26), TensorIndex.Slice(6, 26)] = tensor((short)2);   // the same outline (each map is cropped to its own), the inside shifted
            l[TensorIndex.Slice(10 + 4 * s, 17 + 4 * s), TensorIndex.Slice(12, 20), TensorIndex.Slice(12, 20)] = tensor((short)3);
            paths[s] = dir.File($"m{s}.nii.gz");
            NiftiWriter.Write(paths[s], NiftiImage.Create(l, null, "", NiftiIntent.Label));
        }
        return paths;
    }

    static List<string[]> Rows(string table) =>
        table.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\| \d")).Select(l => l.Split('|', StringSplitOptions.TrimEntries)).ToList();

    [Fact]
    public void AdamOnTheVelocitiesRaisesDiceAndTheNetworkModeReportsDeadChannels()
    {
        using var dir = TestData.Temp();
        var m = Maps(dir);
        var text = new StringWriter();
        Assert.Equal(0, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "velocities", "--downsample", "1", "--steps", "30", "--every", "30", "--lr", "0.2"], text));
        var rows = Rows(text.ToString());
        Assert.Equal(2, rows.Count);   // steps 0 and 30
        double before = double.Parse(rows[0][3], System.Globalization.CultureInfo.InvariantCulture), after = double.Parse(rows[1][3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(after > before + 0.05, $"Dice {before} -> {after}: the label term should pull the shifted maps together\n{text}");

        text = new StringWriter();
        Assert.Equal(0, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "network", "--downsample", "1", "--steps", "2", "--every", "2"], text));
        Assert.All(Rows(text.ToString()), r => Assert.Matches(@"^\d+ of 14$", r[5]));
        Assert.Equal(2, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "sideways"], TextWriter.Null));
    }

    static double Cell(string[] row, int column) => double.Parse(row[column], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void TheOfficialLossOnTheVelocitiesAlsoAlignsThePairAndInitLoadsWeights()
    {
        using var dir = TestData.Temp();
        var m = Maps(dir);
        // the unsupervised objective (NCC on one synthesis of each map, with the regularisers) must lower its loss and
        // raise label Dice: what separates "the objective leads to the anatomy" from "the network does not learn it"
        var text = new StringWriter();
        Assert.Equal(0, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "velocities", "--loss", "official", "--downsample", "1", "--steps", "30", "--every", "30", "--lr", "0.2"], text));
        Assert.Contains("| step | official loss |", text.ToString());
        var rows = Rows(text.ToString());
        Assert.Equal(2, rows.Count);
        Assert.True(Cell(rows[1], 2) < Cell(rows[0], 2) - 0.01, $"the official loss should fall\n{text}");
        Assert.True(Cell(rows[1], 3) > Cell(rows[0], 3) + 0.05, $"Dice should rise under NCC as under the label term\n{text}");
        // the two maps share their outline and differ inside: the outline column sees no misalignment where Dice does
        Assert.True(Cell(rows[0], 6) > 0.99 && Cell(rows[0], 3) < 0.9, $"outline Dice {rows[0][6]}, Dice {rows[0][3]}\n{text}");

        // --init: the official weights give non-zero velocities at step 0, a fresh network (heads at N(0, 1e-5)) about none
        string Velocity(params string[] extra)
        {
            var t = new StringWriter();
            Assert.Equal(0, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "network", "--downsample", "1", "--steps", "0", .. extra], t));
            return Rows(t.ToString()).Single()[4];
        }
        double fresh = double.Parse(Velocity(), System.Globalization.CultureInfo.InvariantCulture);
        double official = double.Parse(Velocity("--init", TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(fresh < 0.01 && official > 10 * fresh, $"mean |v|: fresh {fresh}, official weights {official}");
        Assert.Equal(2, Unsup.Bench.Registration.LabelFit.Run([m[0], m[1], "--mode", "velocities", "--loss", "ncc"], TextWriter.Null));
    }
}
