using TorchSharp;
using Unsup.Training;

namespace Unsup.Tests.Core.Training;

public class LrScheduleTests
{
    [Fact]
    public void Factors_match_torch_schedules()
    {
        var step = LrSchedule.StepDecay(10, 0.5);
        Assert.Equal(1.0, step.Factor(0));
        Assert.Equal(1.0, step.Factor(9));
        Assert.Equal(0.5, step.Factor(10));
        Assert.Equal(0.25, step.Factor(25));
        var multi = LrSchedule.MultiStep([120, 160], 0.1);
        Assert.Equal(1.0, multi.Factor(119));
        Assert.Equal(0.1, multi.Factor(120), 12);
        Assert.Equal(0.01, multi.Factor(170), 12);
        var cos = LrSchedule.Cosine(100);
        Assert.Equal(1.0, cos.Factor(0), 12);
        Assert.Equal(0.5, cos.Factor(50), 12);
        Assert.Equal(0.0, cos.Factor(100), 12);
        var warm = LrSchedule.Cosine(100, warmupSteps: 10);
        Assert.Equal(0.1, warm.Factor(0), 12);
        Assert.Equal(1.0, warm.Factor(9));                                   // the last warm-up step: exactly the base rate
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI / 91)), warm.Factor(10), 15);  // cosine from step 9 (position 0) to 100
        Assert.Equal(0.0, warm.Factor(100), 12);
        var stepWarm = LrSchedule.Create("step", 100, warmupSteps: 4, milestones: [50]);
        Assert.Equal([0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 5).Select(i => stepWarm.Factor(i)));
        Assert.Equal(0.1, stepWarm.Factor(50), 12);
        Assert.Equal(1.0, LrSchedule.Create("constant", 100).Factor(99));
        Assert.Contains("--schedule", Assert.Throws<UnsupException>(() => LrSchedule.Create("linear", 100)).Message);
    }

    [Fact]
    public void Apply_sets_every_param_group_from_its_initial_rate()
    {
        using var m = TrainingTestModels.Mlp();
        using var opt = torch.optim.SGD(m.parameters(), 0.2, momentum: 0.9);
        double lr = LrSchedule.StepDecay(5, 0.1).Apply(opt, 12);
        Assert.Equal(0.002, lr, 12);
        Assert.All(opt.ParamGroups, g => Assert.Equal(0.002, g.LearningRate, 12));
        LrSchedule.StepDecay(5, 0.1).Apply(opt, 0);
        Assert.All(opt.ParamGroups, g => Assert.Equal(0.2, g.LearningRate, 12));
        // SYMNet's Adam at a constant rate keeps the rate it was created with
        using var adam = torch.optim.Adam(m.parameters(), lr: 1e-4);
        Assert.Equal(1e-4, LrSchedule.Constant().Apply(adam, 500), 15);
    }
}
