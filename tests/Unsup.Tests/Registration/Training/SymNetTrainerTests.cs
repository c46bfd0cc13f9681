using TorchSharp;
using Unsup.Registration.Model;
using Unsup.Registration.Training;
using Unsup.Tests.Core.Training;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Training;

/// <summary>The trainer's maths and its run-folder behaviour (resume, NaN guard), on tiny synthetic data.</summary>
[Collection(TorchRngSerial.Name)]
public class SymNetTrainerTests
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a == b).all().item<bool>();

    static SymNetTrainConfig Small(long steps = 4, double lr = 3e-3) => new()
    {
        StartChannels = 4, Steps = steps, Lr = lr, CheckpointEvery = 2, ValEvery = 2, Seed = 5,
    };

    [Fact]
    public void StepsOnAShiftedBlobPairLowerTheLoss()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 0, 0));
        var y = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 3, -2));
        using var trainer = new SymNetTrainer(Small(lr: 3e-3), dims: 2);
        var losses = new List<double>();
        for (int i = 0; i < 12; i++) losses.Add(trainer.Step(x, y).Total);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses.Skip(9).Average() < losses.Take(3).Average() - 0.1, $"loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
    }

    [Fact]
    public void ResumeFromACheckpointGivesTheSameWeightsAsAnUninterruptedRun()
    {
        using var tmp = TestData.Temp();
        var (images, labels) = SyntheticPairs.Subjects2D(5);
        var config = Small(steps: 4);

        Dictionary<string, Tensor> Weights(string run)
        {
            using var data = Checkpoint.Read(new CheckpointStore(Path.Combine(run, "checkpoints")).Latest!);
            return data.Modules[SymNetWeights.CheckpointModule].ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }

        SymNetTrainResult Train(string run, bool resume, long? stopAfter)
        {
            using var data = new SymNetTrainingData(images, labels, validationCount: 2);
            manual_seed(11);   // the network's initialisation
            return SymNetTraining.Run(data, new SymNetTrainOptions { RunDir = run, Config = config, Resume = resume, StopAfterSteps = stopAfter, Progress = ProgressMode.Quiet, Log = TextWriter.Null });
        }

        string straight = tmp.File("straight"), split = tmp.File("split");
        var full = Train(straight, false, null);
        var half = Train(split, false, 2);
        Assert.Equal(2, half.Steps);
        manual_seed(999);      // resume must not depend on the global generator
        var rest = Train(split, true, null);
        Assert.Equal(4, rest.Steps);

        var a = Weights(straight);
        var b = Weights(split);
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        foreach (var key in a.Keys)
            Assert.True(Same(a[key], b[key]), $"{key} differs between the uninterrupted and the resumed run");
        Assert.Equal(full.LastLoss, rest.LastLoss);
        // the resumed run's metrics continue the same sequence: steps 1..4, no duplicates
        var steps = MetricsLog.Read(Path.Combine(split, "metrics.jsonl")).Where(r => r.Values.ContainsKey("loss")).Select(r => r.Step).ToList();
        Assert.Equal([1, 2, 3, 4], steps);
        Assert.True(File.Exists(Path.Combine(split, SymNetWeights.RunWeightsFile)));
        Assert.True(File.Exists(Path.Combine(split, "plots", "val_dice.png")));
        Assert.NotNull(full.LastValidation);
        Assert.Equal(2, full.LastValidation!.Pairs);
        Assert.Equal([1L, 2L], full.LastValidation.Labels);
    }

    [Fact]
    public void LabelWeightAddsTheLabelTermToEveryLoggedStepAndNeedsLabels()
    {
        using var tmp = TestData.Temp();
        var (images, labels) = SyntheticPairs.Subjects2D(5);
        using var data = new SymNetTrainingData(images, labels, validationCount: 2);
        string run = tmp.File("labels");
        SymNetTraining.Run(data, new SymNetTrainOptions { RunDir = run, Config = Small(steps: 3) with { LabelWeight = 1.0 }, Progress = ProgressMode.Quiet, Log = TextWriter.Null });
        var steps = MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Where(r => r.Values.ContainsKey("loss")).ToList();
        Assert.Equal(3, steps.Count);
        // two soft-Dice comparisons of overlapping blobs: each in (0, 1)
        Assert.All(steps, r => Assert.InRange(r.Values["label_dice_loss"], 0.01, 2.0));

        using var unlabelled = new SymNetTrainingData(images, validationCount: 0);
        var ex = Assert.Throws<UnsupException>(() => SymNetTraining.Run(unlabelled, new SymNetTrainOptions
            { RunDir = tmp.File("none"), Config = Small() with { LabelWeight = 1.0 }, Progress = ProgressMode.Quiet, Log = TextWriter.Null }));
        Assert.Contains("--label-weight", ex.Message);
        Assert.Contains("label maps", ex.Message);
    }

    /// <summary>A network whose last decoder block is pushed below zero: every ReLU of it is dead.</summary>
    static SymNet Killed(SymNet model)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.StartsWith("dc8.")) { if (name.EndsWith("bias")) p.fill_(-1.0); else p.zero_(); }
        return model;
    }

    [Fact]
    public void DeadChannelsCountsTheDecoderChannelsThatAreZeroEverywhere()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var x = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 0, 0));
        var y = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 2, 1));
        using var trainer = new SymNetTrainer(Small(), dims: 2);
        Assert.Equal(8, trainer.Model.DecoderChannels);
        var alive = trainer.Step(x, y);
        Assert.InRange(alive.DeadChannels, 0, 7);
        Assert.True(trainer.Model.forward(x, y).vXY.abs().max().item<float>() > 0, "a fresh network should output some deformation");

        Killed(trainer.Model);
        var dead = trainer.Step(x, y);
        Assert.Equal(8, dead.DeadChannels);
        Assert.Equal(8, trainer.Model.LastDeadChannels);
        Assert.Equal(0f, trainer.Model.forward(x, y).vXY.abs().max().item<float>());
        Assert.Contains(("dead_channels", 8.0), dead.AsMetrics());
    }

    [Fact]
    public void TrainingStopsWithAClearMessageWhenTheNetworkHasDied()
    {
        using var tmp = TestData.Temp();
        var (images, labels) = SyntheticPairs.Subjects2D(4);
        using var data = new SymNetTrainingData(images, labels, validationCount: 0);
        string init = tmp.File("dead.pth");
        manual_seed(7);
        using (var model = Killed(new SymNet(4, 2))) SymNetWeights.Save(model, init);
        var config = Small(steps: SymNetTraining.DeadNetworkPatience + 10) with { Init = init, CheckpointEvery = 1000 };
        var e = Assert.Throws<UnsupException>(() => SymNetTraining.Run(data, new SymNetTrainOptions
            { RunDir = tmp.File("run"), Config = config, Progress = ProgressMode.Quiet, Log = TextWriter.Null }));
        Assert.Contains($"training stopped at step {SymNetTraining.DeadNetworkPatience}", e.Message);
        Assert.Contains("dead ReLUs", e.Message);
        Assert.Contains("lower --lr", e.Message);
    }

    [Fact]
    public void NanGuardStopsAPoisonedLossBeforeTheWeightsChange()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var x = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 0, 0));
        var y = IntensityNormalization.MinMax(SyntheticPairs.Blobs2D(32, 2, 1));
        using var trainer = new SymNetTrainer(Small(), dims: 2);
        var guard = new NanGuard(() => "runs/x/checkpoints/step-000002.ckpt", "runs/x");
        trainer.Step(x, y, guard, 1);   // a clean step first, so Adam has moments to spoil
        var before = trainer.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        var poisoned = x.clone();
        poisoned[0, 0, 5, 5] = tensor(float.NaN);
        var e = Assert.Throws<NonFiniteException>(() => trainer.Step(poisoned, y, guard, 2));
        Assert.Equal(2, e.Step);
        Assert.Contains("loss is NaN", e.Message);
        Assert.Contains("--resume runs/x", e.Message);
        foreach (var (key, t) in trainer.Model.state_dict())
            Assert.True(Same(t, before[key]), $"{key} changed although the step was stopped");
    }

    /// <summary>
    /// Issue 6's hazard test: the first steps of 3D SYMNet training (C = 7, the official width) for several seeds
    /// give finite gradients in every parameter, checked before each optimizer step.
    /// </summary>
    [Fact]
    public void FirstStepsOf3DTrainingHaveFiniteGradientsForSeveralSeeds()
    {
        foreach (int seed in new[] { 0, 1, 2, 3 })
        {
            using var scope = NewDisposeScope();
            manual_seed(seed);
            var x = IntensityNormalization.MinMax(SyntheticPairs.Blobs3D(32, 0, 0, 0) + 0.05 * rand([1, 1, 32, 32, 32]));
            var y = IntensityNormalization.MinMax(SyntheticPairs.Blobs3D(32, 2, -1, 1.5) + 0.05 * rand([1, 1, 32, 32, 32]));
            using var trainer = new SymNetTrainer(new SymNetTrainConfig { StartChannels = 7, Lr = 1e-4 }, dims: 3);
            for (int step = 1; step <= 3; step++)
            {
                using var stepScope = NewDisposeScope();
                trainer.Optimizer.zero_grad();
                using var f = SymNetPipeline.Forward(trainer.Model, x, y);
                using var t = trainer.Loss.Compute(x, y, f);
                Assert.True(double.IsFinite(t.Total.item<float>()), $"seed {seed} step {step}: loss {t.Total.item<float>()}");
                t.Total.backward();
                foreach (var (name, p) in trainer.Model.named_parameters())
                {
                    Assert.NotNull(p.grad);
                    Assert.True(p.grad!.isfinite().all().item<bool>(), $"seed {seed} step {step}: gradient of {name} is not finite");
                }
                trainer.Optimizer.step();
            }
        }
    }
}
