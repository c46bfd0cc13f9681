using TorchSharp;
using Unsup.Training;

namespace Unsup.Tests.Training;

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
        Assert.Equal(1.0, warm.Factor(10), 12);
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
    }
}
