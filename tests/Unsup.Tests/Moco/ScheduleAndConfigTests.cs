using Unsup.Moco;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

public class ScheduleAndConfigTests
{
    [Fact]
    public void Cosine_and_step_schedules_follow_the_official_formulas()
    {
        // one step per epoch: the per-step schedule is the official per-epoch one
        var cfg = new MocoConfig { BaseLr = 0.06, Epochs = 200 };
        var cos = cfg.BuildSchedule(stepsPerEpoch: 1);
        Assert.Equal(0.06, cfg.Lr * cos.Factor(0), 12);
        Assert.Equal(0.03, cfg.Lr * cos.Factor(100), 12);
        Assert.Equal(0.06 * 0.5 * (1 + Math.Cos(Math.PI * 37 / 200)), cfg.Lr * cos.Factor(37), 12);
        Assert.Equal(0.0, cos.Factor(200), 12);
        var step = (cfg with { BaseLr = 0.03, Schedule = "step", Milestones = [120, 160] }).BuildSchedule(stepsPerEpoch: 10);
        Assert.Equal(1.0, step.Factor(1199), 12);
        Assert.Equal(0.1, step.Factor(1200), 12);
        Assert.Equal(0.01, step.Factor(1990), 12);
    }

    [Fact]
    public void Warmup_rises_every_step_to_exactly_the_base_rate_then_cosine_decays_over_the_rest()
    {
        // 10 epochs of 5 steps, 2 warm-up epochs = 10 warm-up steps of 50
        var cfg = new MocoConfig { BaseLr = 0.1, BatchSize = 256, Epochs = 10, WarmupEpochs = 2 };
        var s = cfg.BuildSchedule(stepsPerEpoch: 5);
        double[] warm = Enumerable.Range(0, 10).Select(i => cfg.Lr * s.Factor(i)).ToArray();
        Assert.Equal([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1], warm.Select(v => Math.Round(v, 15)));
        Assert.Equal(1.0, s.Factor(9));                                    // the last warm-up step runs at exactly the base rate
        // the decay starts from that peak: step 9 is cosine position 0, step 50 (never run) position 1
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 1 / 41)), s.Factor(10), 15);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 20 / 41)), s.Factor(29), 15);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 40 / 41)), s.Factor(49), 15);
        for (int i = 1; i < 50; i++)
            Assert.True(i < 10 ? s.Factor(i) > s.Factor(i - 1) : s.Factor(i) < s.Factor(i - 1), $"step {i}: {s.Factor(i - 1)} -> {s.Factor(i)}");

        // step decay after warm-up: milestones stay at their epochs
        var st = (cfg with { Schedule = "step", Milestones = [6, 8] }).BuildSchedule(stepsPerEpoch: 5);
        Assert.Equal([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], Enumerable.Range(0, 10).Select(i => Math.Round(st.Factor(i), 15)));
        Assert.Equal((1.0, 1.0, 0.1, 0.1, 0.01), (st.Factor(10), st.Factor(29), Math.Round(st.Factor(30), 15), Math.Round(st.Factor(39), 15), Math.Round(st.Factor(40), 15)));
        Assert.Contains("--warmup-epochs", Assert.Throws<UnsupException>(() => (cfg with { WarmupEpochs = 11 }).Validate()).Message);
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
        // the schedule scales both groups from the rate they were created with
        LrSchedule.FromFunction(_ => 0.1).Apply(opt, 0);
        Assert.Equal(2, opt.ParamGroups.Count());
        Assert.All(opt.ParamGroups, g => Assert.Equal(0.01, g.LearningRate, 15));
    }
}
