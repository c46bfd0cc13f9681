using System.Collections;
using System.Globalization;
using TorchSharp.PyBridge;
using Unsup.IO.Numpy;
using Unsup.Moco.Models;
using Unsup.Moco.Weights;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Weights;

/// <summary>Loading backbones from Unsup runs, official MoCo checkpoints and torchvision state_dicts; export back to PyTorch.</summary>
public class EncoderWeightsTests
{
    static Tensor Npy(string dir, string name) => NpyReader.Read(Path.Combine(dir, name));

    [SkippableFact]
    public void OfficialMocoCheckpoint_gives_PyTorchs_features_and_head_within_1e4()
    {
        var dir = MocoUseFixtures.PyTorchFixture();
        using var enc = EncoderWeights.Load(Path.Combine(dir, "moco_r18.pth.tar"));
        Assert.Equal(new ResNetOptions(18, 64, 3, false), enc.Options);
        Assert.StartsWith("moco checkpoint", enc.Format);
        Assert.NotNull(enc.Head);
        Assert.Contains("module.encoder_k.conv1.weight", enc.Ignored);
        Assert.Contains("module.queue", enc.Ignored);
        Assert.DoesNotContain(enc.Ignored, k => k.StartsWith("module.encoder_q."));

        using var x = Npy(dir, "x.npy");
        using var expected = Npy(dir, "features.npy");
        using var expectedHead = Npy(dir, "head.npy");
        using var _ = no_grad();
        using var f = enc.Backbone.Features(x);
        Assert.True(MocoUseFixtures.RelativeError(f, expected) < 1e-4f, $"features differ: relative error {MocoUseFixtures.RelativeError(f, expected)}");
        using var h = nn.functional.normalize(enc.Head!.call(f), p: 2, dim: 1);
        Assert.True(MocoUseFixtures.RelativeError(h, expectedHead) < 1e-4f, $"head differs: relative error {MocoUseFixtures.RelativeError(h, expectedHead)}");
    }

    [SkippableFact]
    public void TorchvisionStateDict_loads_the_backbone_and_drops_the_classifier()
    {
        var dir = MocoUseFixtures.PyTorchFixture();
        using var enc = EncoderWeights.Load(Path.Combine(dir, "torchvision_r18.pth"));
        Assert.Null(enc.Head);
        Assert.Equal(["fc.bias", "fc.weight"], enc.Ignored.Order());
        using var x = Npy(dir, "x.npy");
        using var expected = Npy(dir, "features.npy");
        using var _ = no_grad();
        using var f = enc.Backbone.Features(x);
        Assert.True(MocoUseFixtures.RelativeError(f, expected) < 1e-4f);
    }

    [SkippableFact]
    public void Exported_backbone_loads_in_PyTorch_with_strict_true_and_gives_the_same_features()
    {
        var dir = MocoUseFixtures.PyTorchFixture();
        using var tmp = TestData.Temp();
        var pth = tmp.File("backbone.pth");
        using (var enc = EncoderWeights.Load(Path.Combine(dir, "moco_r18.pth.tar")))
            EncoderWeights.ExportTorchvision(enc.Backbone, pth);
        var py = TestData.Python($$"""
            import numpy as np, torch, torchvision
            m = torchvision.models.resnet18()
            m.fc = torch.nn.Identity()
            m.load_state_dict(torch.load(r"{{pth}}"), strict=True)
            m.eval()
            x = torch.from_numpy(np.load(r"{{dir}}/x.npy"))
            with torch.no_grad():
                f = m(x)
            ref = torch.from_numpy(np.load(r"{{dir}}/features.npy"))
            print(float((f - ref).abs().max() / ref.abs().max()))
            """, "torch", "torchvision", "numpy");
        double rel = double.Parse(py.Trim(), CultureInfo.InvariantCulture);
        Assert.True(rel < 1e-4, $"PyTorch features of the exported backbone differ: relative error {rel}");
    }

    [SkippableFact]
    public void Legacy_torch_save_format_is_a_clear_error()
    {
        var dir = MocoUseFixtures.PyTorchFixture();
        var file = Path.Combine(dir, "legacy_r18.pth");
        var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(file));
        Assert.StartsWith(file, e.Message);
        Assert.Contains("legacy", e.Message);
    }

    [Fact]
    public void UnsupRun_folder_gives_the_query_encoders_backbone_and_head()
    {
        using var tmp = TestData.Temp();
        var runDir = tmp.File("run");
        using var model = MocoUseFixtures.MakeRun(runDir);
        using var enc = EncoderWeights.Load(runDir);
        Assert.Equal("unsup checkpoint", enc.Format);
        Assert.Equal(MocoUseFixtures.TinyConfig.Backbone, enc.Options);
        Assert.EndsWith("step-000001.ckpt", enc.Source);
        Assert.Contains("encoder_k.conv1.weight", enc.Ignored);
        Assert.Contains("queue", enc.Ignored);

        manual_seed(3);
        using var x = randn(5, 1, 28, 28);
        using var _ = no_grad();
        model.EncoderQ.eval();
        using var want = model.EncoderQ.Features(x);
        using var got = enc.Backbone.Features(x);
        Assert.Equal(0f, (got - want).abs().max().item<float>());
        using var wantHead = model.EncoderQ.call(x);
        using var gotHead = enc.Head!.call(got);
        Assert.Equal(0f, (gotHead - wantHead).abs().max().item<float>());

        // the checkpoint file itself loads too
        using var fromFile = EncoderWeights.Load(enc.Source);
        Assert.Equal(enc.Options, fromFile.Options);
    }

    [Fact]
    public void Stride2_stem_comes_from_the_runs_config_for_the_folder_and_for_a_checkpoint_file()
    {
        // the tensors of a stride-1 and a stride-2 stem have the same shapes: only config.json can tell them apart
        using var tmp = TestData.Temp();
        var runDir = tmp.File("run");
        var config = MocoUseFixtures.TinyConfig with { StemStride = 2 };
        using var model = MocoUseFixtures.MakeRun(runDir, config);
        model.EncoderQ.eval();
        manual_seed(3);
        using var x = randn(3, 1, 28, 28);
        using var _ = no_grad();
        using var want = model.EncoderQ.Features(x);
        using var enc = EncoderWeights.Load(runDir);
        using var fromFile = EncoderWeights.Load(enc.Source);
        // a checkpoint kept aside in a folder of the run (checkpoints/ keeps only the last few) still finds config.json
        Directory.CreateDirectory(Path.Combine(runDir, "kept"));
        string kept = Path.Combine(runDir, "kept", Path.GetFileName(enc.Source));
        File.Copy(enc.Source, kept);
        using var fromKept = EncoderWeights.Load(kept);
        foreach (var loaded in new[] { enc, fromFile, fromKept })
        {
            Assert.Equal(2, loaded.Options.StemStride);
            Assert.Contains("CIFAR stride-2 stem", loaded.Describe());
            using var got = loaded.Backbone.Features(x);
            Assert.Equal(0f, (got - want).abs().max().item<float>());
        }
    }

    [SkippableFact]
    public void Stride2_stem_exports_to_PyTorch_by_the_printed_snippet_with_the_same_features()
    {
        using var tmp = TestData.Temp();
        var pth = tmp.File("backbone.pth");
        manual_seed(5);
        using var net = new ResNet(new ResNetOptions(18, 64, InChannels: 1, CifarStem: true, StemStride: 2));
        net.eval();
        EncoderWeights.ExportTorchvision(net, pth);
        using var x = linspace(-1, 1, 2 * 28 * 28).view(2, 1, 28, 28);
        using var _ = no_grad();
        using var f = net.Features(x);
        var py = TestData.Python(EncoderWeights.PythonSnippet(net.Options, pth) + """

            m.eval()
            x = torch.linspace(-1, 1, 2 * 28 * 28).view(2, 1, 28, 28)
            with torch.no_grad():
                print(" ".join(repr(float(v)) for v in m(x).flatten()))
            """, "torch", "torchvision");
        var expected = py.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var got = f.data<float>().ToArray();
        Assert.Equal(expected.Length, got.Length);
        float worst = expected.Zip(got).Max(p => Math.Abs(p.First - p.Second)) / expected.Max(Math.Abs);
        Assert.True(worst < 1e-4f, $"relative difference {worst}");
    }

    [Fact]
    public void Augmented_batches_are_fresh_crops_and_leave_the_backbone_unchanged()
    {
        using var tmp = TestData.Temp();
        using (MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        using var enc = EncoderWeights.Load(tmp.File("run"));
        var before = enc.Backbone.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var images = randint(0, 256, [6, 1, 16, 16]).to(ScalarType.Byte);
        using var g = new Generator(3);
        var batches = Unsup.Moco.Evaluation.EncoderFeatures.Of(enc, CPU).AugmentedBatches(images, g);
        using var idx = tensor(new long[] { 0, 1, 2, 3, 4, 5 });
        using var a = batches(idx);
        using var b = batches(idx);
        Assert.Equal([6L, 32L], a.shape);
        Assert.True((a - b).abs().max().item<float>() > 0, "two epochs saw the same crops");
        Assert.False(a.requires_grad);
        foreach (var (k, t) in enc.Backbone.state_dict())
            Assert.True(t.eq(before[k]).all().item<bool>(), k);
    }

    [Fact]
    public void Run_whose_config_disagrees_with_its_weights_names_the_first_mismatching_key_and_both_shapes()
    {
        using var tmp = TestData.Temp();
        var runDir = tmp.File("run");
        using (MocoUseFixtures.MakeRun(runDir)) { }
        var configPath = Path.Combine(runDir, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"width\": 4", "\"width\": 8"));
        var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(runDir));
        Assert.Contains("step-000001.ckpt", e.Message);
        Assert.Contains("'conv1.weight' has shape [4, 1, 3, 3] in the file but [8, 1, 3, 3] in the model", e.Message);
    }

    [Fact]
    public void Wrong_depth_reports_missing_keys_by_name()
    {
        using var tmp = TestData.Temp();
        var pth = tmp.File("r18.pth");
        using (var net = new ResNet(new ResNetOptions(18, 4, 3)))
            EncoderWeights.ExportTorchvision(net, pth);
        var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(pth, new ResNetOptions(34, 4, 3)));
        Assert.StartsWith(pth, e.Message);
        Assert.Contains("missing keys", e.Message);
        Assert.Contains("'layer1.2.conv1.weight'", e.Message);
    }

    [Fact]
    public void Missing_and_unexpected_backbone_keys_are_reported_by_name()
    {
        using var tmp = TestData.Temp();
        var pth = tmp.File("edited.pth");
        using (var net = new ResNet(new ResNetOptions(18, 4, 3)))
        {
            var table = new Hashtable();
            foreach (var (k, t) in net.state_dict()) table[k] = t.detach().contiguous();
            table.Remove("layer4.1.bn2.running_var");
            table["layer4.2.conv1.weight"] = zeros(32, 32, 3, 3);
            using var fs = File.Create(pth);
            PyTorchPickler.PickleStateDict(fs, table);
        }
        var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(pth, new ResNetOptions(18, 4, 3)));
        Assert.Contains("missing keys: 'layer4.1.bn2.running_var'", e.Message);
        Assert.Contains("unexpected keys: 'layer4.2.conv1.weight'", e.Message);
    }

    [Fact]
    public void Weights_of_another_model_are_a_clear_error()
    {
        using var tmp = TestData.Temp();
        var pth = tmp.File("mlp.pth");
        using (var mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
        using (var fs = File.Create(pth))
            mlp.save_py(fs);
        var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(pth));
        Assert.StartsWith(pth, e.Message);
        Assert.Contains("no ResNet", e.Message);
    }

    [Fact]
    public void Truncated_empty_and_garbage_files_are_clear_errors()
    {
        using var tmp = TestData.Temp();
        var good = tmp.File("good.pth");
        using (var net = new ResNet(new ResNetOptions(18, 4, 3))) EncoderWeights.ExportTorchvision(net, good);
        var bytes = File.ReadAllBytes(good);

        var cut = tmp.File("cut.pth");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var empty = tmp.File("empty.pth");
        File.WriteAllBytes(empty, []);
        var junk = tmp.File("junk.pth");
        File.WriteAllText(junk, "this is not a checkpoint at all");
        var runCut = tmp.File("cut.ckpt");
        using (var model = MocoUseFixtures.MakeRun(tmp.File("run"))) { }
        var ckpt = Directory.GetFiles(tmp.File("run/checkpoints"), "*.ckpt").Single();
        var ck = File.ReadAllBytes(ckpt);
        File.WriteAllBytes(runCut, ck[..(ck.Length - 100)]);

        foreach (var f in new[] { cut, empty, junk, runCut, tmp.File("absent.pth") })
        {
            var e = Assert.Throws<UnsupException>(() => EncoderWeights.Load(f));
            Assert.StartsWith(f, e.Message);
        }
        var emptyRun = tmp.File("emptyrun");
        Directory.CreateDirectory(Path.Combine(emptyRun, "checkpoints"));
        File.WriteAllText(Path.Combine(emptyRun, "config.json"), MocoUseFixtures.TinyConfig.ToJson());
        var er = Assert.Throws<UnsupException>(() => EncoderWeights.Load(emptyRun));
        Assert.Contains("no checkpoint yet", er.Message);
    }
}
