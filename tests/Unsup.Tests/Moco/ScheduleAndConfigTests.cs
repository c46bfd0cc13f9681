using Unsup.Moco;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

public class ScheduleAndConfigTests
{
    [Fact]
    public void Cosine_and_step_schedules_follow_the_official_formulas()
    {
        var cos = new LearningRateSchedule(0.06, 200, "cosine");
        Assert.Equal(0.06, cos.At(0), 12);
        Assert.Equal(0.03, cos.At(100), 12);
        Assert.Equal(0.06 * 0.5 * (1 + Math.Cos(Math.PI * 37 / 200)), cos.At(37), 12);
        Assert.Equal(0.0, cos.At(200), 12);
        var step = new LearningRateSchedule(0.03, 200, "step", [120, 160]);
        Assert.Equal(0.03, step.At(119.9), 12);
        Assert.Equal(0.003, step.At(120), 12);
        Assert.Equal(0.0003, step.At(199), 12);
        var warm = new LearningRateSchedule(0.1, 10, "cosine", WarmupEpochs: 2);
        Assert.Equal(0.05, warm.At(1), 12);
        Assert.Equal(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 3 / 10)), warm.At(3), 12);
    }

    [Fact]
    public void Presets_carry_the_published_values()
    {
        var cifar = MocoConfig.FromPreset("cifar").Validate();
        Assert.Equal((512, 0.06, 5e-4, 4096, 0.99, 0.1, 8, true), (cifar.BatchSize, Math.Round(cifar.Lr, 12), cifar.WeightDecay, cifar.QueueSize, cifar.KeyMomentum, cifar.Temperature, cifar.BnSplits, cifar.Symmetric));
        Assert.Equal(("resnet18", true, "cosine"), (cifar.Arch, cifar.CifarStem, cifar.Schedule));
        var v1 = MocoConfig.FromPreset("v1").Validate();
        Assert.Equal((0.07, false, "step", 65536, 0.999, 1e-4), (v1.Temperature, v1.Mlp, v1.Schedule, v1.QueueSize, v1.KeyMomentum, v1.WeightDecay));
        var v2 = MocoConfig.FromPreset("v2").Validate();
        Assert.Equal((0.2, true, "cosine", "v2", 0.03), (v2.Temperature, v2.Mlp, v2.Schedule, v2.Augmentation, v2.Lr));
        Assert.Equal(0.015, (v2 with { BatchSize = 128 }).Lr, 12);
    }

    [Fact]
    public void Config_round_trips_through_json_and_bad_values_are_user_errors()
    {
        var c = MocoConfig.FromPreset("cifar") with { Width = 16, InChannels = 1, Milestones = [3, 4], Seed = 7 };
        var back = MocoConfig.FromJson(c.ToJson());
        Assert.Equal(c.ToJson(), back.ToJson());
        Assert.Equal(c with { Milestones = back.Milestones }, back);
        Assert.Equal(new[] { 3, 4 }, back.Milestones);
        Assert.Contains("--bn-splits", Assert.Throws<UnsupException>(() => (c with { BatchSize = 100 }).Validate()).Message);
        Assert.Contains("--preset", Assert.Throws<UnsupException>(() => MocoConfig.FromPreset("v3")).Message);
        Assert.Contains("cfg.json", Assert.Throws<UnsupException>(() => MocoConfig.FromJson("{ nope", "cfg.json")).Message);
    }

    [Fact]
    public void Optimizer_can_exclude_bn_and_bias_from_weight_decay()
    {
        manual_seed(0);
        var cfg = MocoConfig.FromPreset("cifar") with { Width = 4, InChannels = 1, QueueSize = 16, BatchSize = 8, BnSplits = 2 };
        using var model = cfg.BuildModel();
        var named = model.TrainableParameters().ToList();
        Assert.Contains(named, p => MocoOptimizer.IsBnOrBias(p.name, p.param) && p.name.Contains("bn1.weight"));
        Assert.DoesNotContain(named, p => MocoOptimizer.IsBnOrBias(p.name, p.param) && p.name.EndsWith("conv1.weight"));
        // with zero gradients only weight decay moves parameters: excluded ones must stay put
        using var opt = MocoOptimizer.Create(named, lr: 0.1, momentum: 0.9, weightDecay: 0.5, excludeBnAndBias: true);
        foreach (var (_, p) in named) p.grad = zeros_like(p);
        var before = named.ToDictionary(p => p.name, p => p.param.detach().clone());
        opt.step();
        foreach (var (name, p) in named)
        {
            bool moved = !p.detach().equal(before[name]).all().item<bool>();
            bool shouldMove = !MocoOptimizer.IsBnOrBias(name, p) && p.abs().sum().item<float>() > 0;
            Assert.True(moved == shouldMove, $"{name}: moved {moved}");
        }
        MocoOptimizer.SetLearningRate(opt, 0.01);
        Assert.All(opt.ParamGroups, g => Assert.Equal(0.01, g.LearningRate));
    }
}
