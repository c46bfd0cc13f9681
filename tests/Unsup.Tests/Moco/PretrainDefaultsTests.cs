using Unsup.Moco;
using Unsup.Tests.Moco.Weights;

using Unsup.Tests.Cli;

namespace Unsup.Tests.Moco;

/// <summary>`moco pretrain` with only --data picks a configuration that fits the images and the machine; explicit options win.</summary>
public class PretrainDefaultsTests
{
    [Fact]
    public void Small_images_on_a_cpu_get_the_small_preset_stem_a_cpu_width_and_cpu_epochs()
    {
        var small = MocoDefaults.Choose(null, 28, 60000, gpu: false).Config;
        Assert.Equal(("small", true, "resnet18", MocoDefaults.CpuWidth, 128, MocoDefaults.CpuSmallEpochs), (small.Preset, small.CifarStem, small.Arch, small.Width, small.BatchSize, small.Epochs));
        Assert.Equal((true, 0.2, false, 0.2), (small.Mlp, small.Temperature, small.Symmetric, small.CropScaleMin ?? -1));
        Assert.Equal(MocoDefaults.CpuStemStride, small.StemStride);
        Assert.Equal(1, MocoDefaults.Choose(null, 28, 60000, gpu: true).Config.StemStride);   // the demo's stem on a GPU

        var large = MocoDefaults.Choose(null, 96, 5000, gpu: false).Config;
        Assert.Equal(("v2", false, "resnet18", MocoDefaults.CpuWidth), (large.Preset, large.CifarStem, large.Arch, large.Width));

        var gpu = MocoDefaults.Choose(null, 224, 100000, gpu: true).Config;
        Assert.Equal(("v2", false, "resnet50", 64, 256), (gpu.Preset, gpu.CifarStem, gpu.Arch, gpu.Width, gpu.BatchSize));

        // an explicit v2 preset on small images still gets the CIFAR stem; a batch larger than the data shrinks to fit
        var v2Small = MocoDefaults.Choose("v2", 32, 100, gpu: false);
        Assert.True(v2Small.Config.CifarStem);
        Assert.Equal((64, 8), (v2Small.Config.BatchSize, v2Small.Config.BnSplits));
        Assert.Contains(v2Small.Reasons, r => r.Contains("batch 64"));
        v2Small.Config.Validate();
    }

    [Fact]
    public void Dry_run_prints_the_chosen_configuration_and_an_estimate_and_writes_nothing()
    {
        using var tmp = TestData.Temp();
        var data = MocoUseCliTests.ImageFolder(tmp.File("imgs"));       // 16-px images, 24 training images
        var run = tmp.File("run");
        var before = Directory.GetFileSystemEntries(tmp.Path, "*", SearchOption.AllDirectories).Order().ToArray();
        var r = UnsupProcess.Run(["moco", "pretrain", "--data", "folder:" + data, "--out", run, "--dry-run", "--threads", "1"]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains($"resolved: preset small, resnet18 width {MocoDefaults.CpuWidth}, CIFAR stride-{MocoDefaults.CpuStemStride} stem", r.Stdout);
        Assert.Contains("batch 16 in 8 BN splits", r.Stdout);
        Assert.Matches(@"estimate: about [0-9.]+ (s|min|h) per epoch \(1 steps of 16; [0-9]+ img/s", r.Stdout);
        Assert.Contains("dry run: nothing written", r.Stdout);
        Assert.False(Directory.Exists(run));
        Assert.Equal(before, Directory.GetFileSystemEntries(tmp.Path, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    [Fact]
    public void Explicit_options_win_over_the_defaults()
    {
        using var tmp = TestData.Temp();
        var data = MocoUseCliTests.ImageFolder(tmp.File("imgs"));
        var r = UnsupProcess.Run(["moco", "pretrain", "--data", "folder:" + data, "--dry-run", "--threads", "1",
            "--preset", "v2", "--arch", "resnet34", "--width", "4", "--cifar-stem", "false", "--batch-size", "8", "--bn-splits", "2", "--knn-features", "backbone"]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("resolved: preset v2, resnet34 width 4, ImageNet stem", r.Stdout);
        Assert.Contains("batch 8 in 2 BN splits", r.Stdout);
        Assert.Contains("kNN monitor on backbone features", r.Stdout);
        Assert.Matches(@"estimate: about .* per epoch \(3 steps of 8;", r.Stdout);
    }
}
