using TorchSharp;
using Unsup.Training;
using static TorchSharp.torch;
using static Unsup.Tests.Core.Training.TrainingTestModels;

namespace Unsup.Tests.Core.Training;

[Collection(TorchRngSerial.Name)]
public class NanGuardTests
{
    [Fact]
    public void Nan_loss_stops_before_the_optimizer_step_and_names_the_last_good_checkpoint()
    {
        using var dir = TestData.Temp();
        var run = RunFolder.Create(Path.Combine(dir.Path, "run"), new { seed = 1 });
        using var m = Mlp();
        using var opt = optim.SGD(m.parameters(), 0.1, momentum: 0.9);
        var state = new TrainingState { Step = 1200 }.AddModule("model", m).AddOptimizer("sgd", opt);
        var ckpt = run.Checkpoints.Save(state);
        var guard = new NanGuard(run);
        var (x, y) = RegressionData();
        using var _x = x; using var _y = y;
        var before = Weights(m);

        var e = Assert.Throws<NonFiniteException>(() =>
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.mse_loss(m.call(x), y) * double.NaN;
            guard.CheckLoss(1234, loss);
            loss.backward();
            opt.step();
        });
        Assert.Equal(1234, e.Step);
        Assert.StartsWith($"step 1234: loss is NaN; stopped. The last good checkpoint is {ckpt} (resume with --resume {run.Root})", e.Message);
        Assert.EndsWith("step-001200.ckpt", ckpt);
        Assert.IsAssignableFrom<UnsupException>(e);
        Assert.Equal(before, Weights(m));

        var inf = Assert.Throws<NonFiniteException>(() => guard.CheckValue(5, "loss", double.PositiveInfinity));
        Assert.Contains("loss is infinite", inf.Message);
    }

    [Fact]
    public void Non_finite_gradient_with_finite_loss_is_caught_and_names_the_parameter()
    {
        using var m = Mlp();
        using var opt = optim.SGD(m.parameters(), 0.1);
        var guard = new NanGuard(() => null, null);
        var before = Weights(m);
        var e = Assert.Throws<NonFiniteException>(() =>
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var w = m.named_parameters().First(p => p.name == "3.weight").parameter;
            var loss = (w * 0).sqrt().sum();          // loss 0, but d sqrt(u)/du at 0 is infinite → NaN gradient
            guard.CheckLoss(7, loss);
            loss.backward();
            guard.CheckGradients(7, m);
            opt.step();
        });
        Assert.StartsWith("step 7: gradient of '3.weight' is NaN; stopped. No checkpoint was written yet", e.Message);
        Assert.Equal(before, Weights(m));

        using (NewDisposeScope())                      // finite gradients pass
        {
            opt.zero_grad();
            nn.functional.mse_loss(m.call(ones(2, 4)), zeros(2, 2)).backward();
            guard.CheckGradients(8, m);
        }
    }
}
