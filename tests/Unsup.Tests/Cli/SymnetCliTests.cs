using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Tests.Cli;

/// <summary>`unsup symnet register/warp/eval` end to end on small volumes with the official weights.</summary>
public class SymnetCliTests
{
    static readonly double[,] Affine = { { -2, 0, 0, 10 }, { 0, 2, 0, -20 }, { 0, 0, 2, 30 }, { 0, 0, 0, 1 } };

    /// <summary>A smooth blob volume [X,Y,Z] (not a multiple of 16, to exercise padding) and a label map of it.</summary>
    static (string image, string labels) Volume(TempDir dir, string name, double shift)
    {
        var ax = linspace(-1, 1, 36); var ay = linspace(-1, 1, 40); var az = linspace(-1, 1, 28);
        var g = meshgrid([ax, ay, az], indexing: "ij");
        var r2 = (g[0] - shift).square() + g[1].square() * 1.5 + g[2].square();
        var img = exp(-r2 * 3).to(ScalarType.Float32);
        var lab = (img > 0.5).to(ScalarType.Int32) + (img > 0.8).to(ScalarType.Int32);
        string ip = dir.File(name + ".nii.gz"), lp = dir.File(name + "_seg.nii.gz");
        NiftiWriter.Write(ip, NiftiImage.Create(img, Affine));
        NiftiWriter.Write(lp, NiftiImage.Create(lab, Affine));
        return (ip, lp);
    }

    [Fact]
    public void RegisterWritesEveryOutputOnTheFixedGridAndImprovesDice()
    {
        using var dir = TestData.Temp();
        var (fi, fl) = Volume(dir, "fixed", 0.0);
        var (mi, ml) = Volume(dir, "moving", 0.15);
        var outDir = dir.File("reg");
        var r = UnsupProcess.Run(new Dictionary<string, string> { ["UNSUP_DATA"] = TestData.SharedData },
            "symnet", "register", "--fixed", fi, "--moving", mi, "--moving-labels", ml, "--fixed-labels", fl, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var f in new[] { "moved.nii.gz", "forward_field.nii.gz", "inverse_field.nii.gz", "moved_labels.nii.gz", "summary.json", "overview.png" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);

        using var moved = NiftiReader.Read(Path.Combine(outDir, "moved.nii.gz"));
        Assert.Equal(new long[] { 36, 40, 28 }, moved.Shape);
        Assert.Equal(Affine[0, 0], moved.Affine[0, 0], 5);
        Assert.Equal(Affine[2, 3], moved.Affine[2, 3], 5);
        using var field = NiftiReader.Read(Path.Combine(outDir, "forward_field.nii.gz"));
        Assert.Equal(new long[] { 36, 40, 28, 1, 3 }, field.Shape);
        Assert.Equal(NiftiIntent.Vector, field.Header.IntentCode);
        using var labels = NiftiReader.Read(Path.Combine(outDir, "moved_labels.nii.gz"));
        var values = labels.Data.to(ScalarType.Int32).unique().output.data<int>().ToArray();
        Assert.All(values, v => Assert.Contains(v, new[] { 0, 1, 2 })); // nearest neighbour: no new labels

        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;
        Assert.True(json.GetProperty("mean_dice").GetDouble() > json.GetProperty("mean_dice_before").GetDouble(),
            $"Dice did not improve: {json}");
        Assert.True(json.GetProperty("percent_non_positive_jacobian").GetDouble() < 0.5);

        // warp with the saved field reproduces the labels written by register
        var warped = dir.File("warped_seg.nii.gz");
        var w = UnsupProcess.Run("symnet", "warp", "--field", Path.Combine(outDir, "forward_field.nii.gz"), "--image", ml, "--labels", "--out", warped);
        Assert.True(w.ExitCode == 0, w.Stderr);
        using var again = NiftiReader.Read(warped);
        Assert.True(again.Data.to(ScalarType.Int32).eq(labels.Data.to(ScalarType.Int32)).all().item<bool>());

        // eval over a pairs CSV gives the same Dice as register's summary
        var pairs = dir.File("pairs.csv");
        File.WriteAllText(pairs, $"field,moving_labels,fixed_labels\n{Path.Combine(outDir, "forward_field.nii.gz")},{ml},{fl}\n");
        var csv = dir.File("metrics.csv");
        var e = UnsupProcess.Run("symnet", "eval", "--pairs", pairs, "--csv", csv);
        Assert.True(e.ExitCode == 0, e.Stderr);
        var row = File.ReadAllLines(csv)[1].Split(',');
        Assert.Equal(json.GetProperty("mean_dice").GetDouble(), double.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture), 4);
    }

    [Fact]
    public void BadInputsGiveOneClearMessageEach()
    {
        using var dir = TestData.Temp();
        var (fi, fl) = Volume(dir, "fixed", 0.0);
        string weights = TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth");
        string Err(params string[] args)
        {
            var r = UnsupProcess.Run(args);
            Assert.Equal(1, r.ExitCode);
            Assert.DoesNotContain("   at ", r.Stderr);
            return r.Stderr;
        }

        // (different grids are no longer an error: they are resampled by their headers, see RegisterAnyGridTests)
        // a 4D image where 3D is expected
        var four = dir.File("four.nii.gz");
        NiftiWriter.Write(four, NiftiImage.Create(rand(36, 40, 28, 2), Affine));
        var e4 = Err("symnet", "register", "--fixed", fi, "--moving", four, "--model", weights, "--out", dir.File("o2"));
        Assert.Contains(four, e4); Assert.Contains("4D", e4);
        // truncated NIfTI
        var cut = dir.File("cut.nii.gz");
        var bytes = File.ReadAllBytes(fi); File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Assert.Contains(cut, Err("symnet", "register", "--fixed", cut, "--moving", fi, "--model", weights, "--out", dir.File("o3")));
        // labels that are not integers
        var soft = dir.File("soft.nii.gz");
        NiftiWriter.Write(soft, NiftiImage.Create(rand(36, 40, 28), Affine));
        var el = Err("symnet", "register", "--fixed", fi, "--moving", fi, "--model", weights, "--moving-labels", soft, "--fixed-labels", fl, "--out", dir.File("o4"));
        Assert.Contains(soft, el); Assert.Contains("non-integer", el);
        Assert.False(Directory.Exists(dir.File("o4")) && Directory.GetFiles(dir.File("o4")).Length > 0, "no output after bad input");
        // a negative refinement blur
        Assert.Contains("--refine-blur -1", Err("symnet", "register", "--fixed", fi, "--moving", fi, "--model", weights, "--refine", "2", "--refine-blur", "-1", "--out", dir.File("o6")));
        // missing weights
        Assert.Contains("nope.pth", Err("symnet", "register", "--fixed", fi, "--moving", fi, "--model", dir.File("nope.pth"), "--out", dir.File("o5")));
    }
}
