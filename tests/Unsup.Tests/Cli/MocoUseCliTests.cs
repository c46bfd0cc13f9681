using System.Globalization;
using System.Text.Json;
using SkiaSharp;
using Unsup.IO.Numpy;
using static TorchSharp.torch;

using Unsup.Tests.Moco.Weights;

namespace Unsup.Tests.Cli;

/// <summary>`unsup moco knn | embed | lincls | export` end to end on a tiny image folder and a tiny run (no training needed).</summary>
public class MocoUseCliTests
{
    /// <summary>root/{train,test}/{bright,dark}/*.png, 16x16 gray noise: the classes differ in brightness only.</summary>
    internal static string ImageFolder(string root, int train = 12, int test = 6)
    {
        var rng = new Random(5);
        foreach (var (split, n) in new[] { ("train", train), ("test", test) })
            foreach (var (cls, lo) in new[] { ("bright", 170), ("dark", 0) })
            {
                var dir = Path.Combine(root, split, cls);
                Directory.CreateDirectory(dir);
                for (int i = 0; i < n; i++)
                {
                    using var bmp = new SKBitmap(16, 16);
                    for (int y = 0; y < 16; y++)
                        for (int x = 0; x < 16; x++) { byte v = (byte)(lo + rng.Next(86)); bmp.SetPixel(x, y, new SKColor(v, v, v)); }
                    using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(dir, $"{cls}{i:D2}.png"), data.ToArray());
                }
            }
        return root;
    }

    static UnsupProcess.Result Unsup(params string[] args) => UnsupProcess.Run([.. args, "--threads", "1"]);

    [Fact]
    public void Knn_verb_prints_top1_and_top5_and_the_raw_pixel_baseline()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"));
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var r = Unsup("moco", "knn", "--weights", tmp.File("run"), "--data", "folder:" + data, "--k", "5", "--pixels");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("kNN (k 5, t 0.1, 12 test images, bank 24)", r.Stdout);
        // brightness alone separates the classes: raw-pixel kNN is exact
        var pixels = r.Stdout.Split('\n').Single(l => l.StartsWith("raw pixels"));
        Assert.Contains("100.00 %", pixels);
        Assert.Contains(r.Stdout.Split('\n'), l => l.StartsWith("encoder (backbone, 32-d)"));
    }

    [Fact]
    public void Embed_writes_one_row_per_image_and_a_csv_index()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"));
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var npy = tmp.File("out/emb.npy");
        var r = Unsup("moco", "embed", "--weights", tmp.File("run"), "--data", "folder:" + data, "--out", npy, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        using (var f = NpyReader.Read(npy))
            Assert.Equal([24L, 32L], f.shape);
        var csv = File.ReadAllLines(tmp.File("out/emb.csv"));
        Assert.Equal("row,source,label,class", csv[0]);
        Assert.Equal(25, csv.Length);
        Assert.EndsWith(Path.Combine("bright", "bright00.png") + ",0,bright", csv[1]);
        Assert.EndsWith(",1,dark", csv[^1]);

        // --head: the projection head's output, unit rows; --split test
        var headNpy = tmp.File("out/head.npy");
        var h = Unsup("moco", "embed", "--weights", tmp.File("run"), "--data", "folder:" + data, "--out", headNpy, "--head", "--split", "test", "-q");
        Assert.True(h.ExitCode == 0, h.Stderr + h.Stdout);
        using var head = NpyReader.Read(headNpy);
        Assert.Equal([12L, 128L], head.shape);
        using var norms = head.norm(1);
        Assert.True((norms - 1).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void Neighbors_of_an_indexed_image_start_with_itself_and_are_drawn_as_a_strip()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"));
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var npy = tmp.File("emb.npy");
        Assert.Equal(0, Unsup("moco", "embed", "--weights", tmp.File("run"), "--data", "folder:" + data, "--out", npy, "-q").ExitCode);

        var byRow = Unsup("moco", "neighbors", "--weights", tmp.File("run"), "--data", "folder:" + data, "--index", npy, "--query-row", "5", "--k", "3", "--out", tmp.File("nn.png"));
        Assert.True(byRow.ExitCode == 0, byRow.Stderr + byRow.Stdout);
        var first = byRow.Stdout.Split('\n').First(l => l.TrimStart().StartsWith("1 "));
        Assert.Matches(@"^\s+1\s+1\.0000\s+5\s", first);
        Assert.True(new FileInfo(tmp.File("nn.png")).Length > 500);

        var file = Path.Combine(data, "train", "dark", "dark03.png");    // row 12 + 3
        var byFile = Unsup("moco", "neighbors", "--weights", tmp.File("run"), "--data", "folder:" + data, "--index", npy, "--query", file, "--k", "2");
        Assert.True(byFile.ExitCode == 0, byFile.Stderr + byFile.Stdout);
        Assert.Matches(@"\n\s+1\s+1\.0000\s+15\s+\S*dark03\.png\s+dark", byFile.Stdout);

        var wrongSplit = Unsup("moco", "neighbors", "--weights", tmp.File("run"), "--data", "folder:" + data, "--index", npy, "--split", "test", "--query-row", "0");
        Assert.Equal(1, wrongSplit.ExitCode);
        Assert.Contains("same --data, --split and --max-images", wrongSplit.Stderr);
    }

    [Fact]
    public void Lincls_trains_on_cached_features_writes_summary_plots_and_keeps_the_backbone()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"));
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var outDir = tmp.File("lincls");
        var r = Unsup("moco", "lincls", "--weights", tmp.File("run"), "--data", "folder:" + data, "--epochs", "20", "--normalize-features", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("backbone unchanged: yes", r.Stdout);
        var s = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;
        Assert.True(s.GetProperty("backboneUnchanged").GetBoolean());
        Assert.Equal(2, s.GetProperty("perClassAccuracy").GetArrayLength());
        Assert.Equal("bright", s.GetProperty("perClassAccuracy")[0].GetProperty("class").GetString());
        Assert.Equal(12, s.GetProperty("confusion").EnumerateArray().SelectMany(row => row.EnumerateArray()).Sum(v => v.GetInt64()));
        Assert.InRange(s.GetProperty("bestTop1").GetDouble(), 0, 1);
        Assert.Equal(20, File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Length);
        foreach (var png in new[] { "confusion.png", "accuracy.png", "loss.png" })
            Assert.True(new FileInfo(Path.Combine(outDir, "plots", png)).Length > 1000, png);
    }

    [Fact]
    public void Lincls_augmented_mode_trains_through_the_frozen_backbone()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"));
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var outDir = tmp.File("lincls");
        var r = Unsup("moco", "lincls", "--weights", tmp.File("run"), "--data", "folder:" + data, "--epochs", "3", "--augmented", "--out", outDir, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("backbone unchanged: yes", r.Stdout);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "config.json"))).RootElement;
        Assert.Contains("augmented", config.GetProperty("protocol").GetString());
        var both = Unsup("moco", "lincls", "--weights", tmp.File("run"), "--data", "folder:" + data, "--augmented", "--cached-features", "--out", tmp.File("x"));
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("exclude each other", both.Stderr);
    }

    [Fact]
    public void Empty_image_folder_is_one_clear_error()
    {
        using var tmp = TestData.Temp();
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var empty = tmp.File("empty");
        Directory.CreateDirectory(empty);
        foreach (var verb in new[] { "knn", "embed" })
        {
            string[] args = ["moco", verb, "--weights", tmp.File("run"), "--data", "folder:" + empty];
            var r = Unsup(verb == "embed" ? [.. args, "--out", tmp.File("e.npy")] : args);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(empty, r.Stderr);
            Assert.Contains("no images", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
    }

    [Fact]
    public void Image_that_fails_to_decode_is_one_clear_error_naming_it()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"), train: 2, test: 1);
        var bad = Path.Combine(data, "train", "dark", "broken.png");
        File.WriteAllText(bad, "not a png");
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var r = Unsup("moco", "embed", "--weights", tmp.File("run"), "--data", "folder:" + data, "--out", tmp.File("e.npy"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(bad, r.Stderr);
        Assert.Contains("decode", r.Stderr);
        Assert.False(File.Exists(tmp.File("e.npy")));
    }

    [Fact]
    public void Weights_of_the_wrong_kind_or_corrupt_are_one_clear_error()
    {
        using var tmp = TestData.Temp();
        var data = ImageFolder(tmp.File("imgs"), train: 2, test: 1);
        var junk = tmp.File("junk.pth");
        File.WriteAllBytes(junk, [0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6]);
        var mlp = tmp.File("mlp.pth");
        using (var m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
        using (var fs = File.Create(mlp))
            TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(m, fs);
        foreach (var (file, words) in new[] { (junk, "not a readable torch.save file"), (mlp, "no ResNet"), (tmp.File("missing.pth"), "not found") })
        {
            var r = Unsup("moco", "knn", "--weights", file, "--data", "folder:" + data);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(file, r.Stderr);
            Assert.Contains(words, r.Stderr);
            Assert.DoesNotContain("internal error", r.Stderr);
        }
    }

    [Fact]
    public void Export_verb_writes_a_state_dict_that_loads_back_to_the_same_features()
    {
        using var tmp = TestData.Temp();
        using var model = MocoUseFixtures.MakeRun(tmp.File("run"));
        var pth = tmp.File("backbone.pth");
        var r = Unsup("moco", "export", "--weights", tmp.File("run"), "--out", pth);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("load_state_dict", r.Stdout);
        using var enc = global::Unsup.Moco.Weights.EncoderWeights.Load(pth);
        Assert.Equal("torchvision state_dict", enc.Format);
        using var x = randn(3, 1, 16, 16);
        using var _ = no_grad();
        model.EncoderQ.eval();
        using var want = model.EncoderQ.Features(x);
        using var got = enc.Backbone.Features(x);
        Assert.Equal(0f, (got - want).abs().max().item<float>());
    }
}
