using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Training;

public class MocoTrainerTests
{
    static MocoConfig Tiny => MocoConfig.FromPreset("cifar") with
    {
        Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2, Epochs = 2, Symmetric = true, KnnK = 5,
    };

    /// <summary>One epoch through the step API, as `moco pretrain` runs it.</summary>
    static List<MocoStepResult> RunEpoch(MocoTrainer trainer, Tensor images, long firstStep)
    {
        using var order = trainer.NewEpochOrder();
        return Enumerable.Range(0, trainer.StepsPerEpoch).Select(i => trainer.Step(images, order, firstStep + i)).ToList();
    }

    [Fact]
    public void Epoch_of_steps_reports_loss_and_rate_and_fills_the_queue_as_a_ring()
    {
        manual_seed(0);
        using var images = randint(0, 256, [20, 1, 14, 14], dtype: ScalarType.Byte);
        using var trainer = new MocoTrainer(Tiny, CPU, Normalize.FashionMnist, images.shape[0]) { Generator = new Generator(1) };
        var before = trainer.Model.EncoderQ.parameters().First().detach().clone();
        var reports = RunEpoch(trainer, images, 0);
        Assert.Equal(2, reports.Count);                          // 20 images, batch 8, last partial dropped
        Assert.All(reports, p => Assert.True(double.IsFinite(p.Loss) && p.Top1 is >= 0 and <= 1));
        Assert.Equal((0, 1), (trainer.EpochOf(1), trainer.EpochOf(2)));
        Assert.Equal(0.03 * 8 / 256, reports[0].Lr, 12);
        Assert.Equal((2 * 2 * 8) % 20, trainer.Model.QueuePointer); // symmetric: 2N keys per step, wrapped
        Assert.False(before.equal(trainer.Model.EncoderQ.parameters().First()).all().item<bool>());
        var second = RunEpoch(trainer, images, 2);
        Assert.True(second[0].Lr < reports[0].Lr);               // cosine decays
        Assert.All(reports.Concat(second).Select((r, i) => (r, i)), x => Assert.Equal(trainer.Config.Lr * trainer.Schedule.Factor(x.i), x.r.Lr, 15));
    }

    [Fact]
    public void Checkpoint_round_trip_restores_queue_and_pointer_bit_for_bit()
    {
        manual_seed(0);
        using var dir = TestData.Temp();
        using var images = randint(0, 256, [24, 1, 14, 14], dtype: ScalarType.Byte);
        using var trainer = new MocoTrainer(Tiny with { Symmetric = false }, CPU, Normalize.FashionMnist, images.shape[0]);
        RunEpoch(trainer, images, 0);
        Assert.Equal(24 % 20, trainer.Model.QueuePointer);
        var path = dir.File("model.bin");
        trainer.Model.save(path);

        manual_seed(123);
        using var fresh = Tiny.BuildModel();
        Assert.False(fresh.Queue.equal(trainer.Model.Queue).all().item<bool>());
        fresh.load(path);
        Assert.True(fresh.Queue.equal(trainer.Model.Queue).all().item<bool>());
        Assert.Equal(trainer.Model.QueuePointer, fresh.QueuePointer);
        foreach (var (a, b) in fresh.state_dict().Values.Zip(trainer.Model.state_dict().Values))
            Assert.True(a.equal(b).all().item<bool>());
    }

    [Theory]
    [InlineData("head")]
    [InlineData("backbone")]
    public void Knn_monitor_on_a_held_out_split_equals_a_hand_computed_weighted_vote(string features)
    {
        manual_seed(0);
        // three classes: a class pattern plus noise, so a random encoder's kNN is better than chance but not perfect
        using var patterns = rand(3, 1, 12, 12) * 160;
        using var yTrain = arange(24, dtype: ScalarType.Int64).remainder(3);
        using var yTest = randint(0, 3, [10], dtype: ScalarType.Int64);
        using var train = (patterns.index_select(0, yTrain) + rand(24, 1, 12, 12) * 96).to(ScalarType.Byte);
        using var test = (patterns.index_select(0, yTest) + rand(10, 1, 12, 12) * 96).to(ScalarType.Byte);
        using var trainer = new MocoTrainer(Tiny with { KnnK = 5, KnnTemperature = 0.5, KnnFeatures = features }, CPU, Normalize.FashionMnist, train.shape[0]);
        var data = new MocoData(train, yTrain, test, yTest, 3);
        double monitor = trainer.Knn(data).Top1;
        Assert.True(trainer.Model.EncoderQ.training);   // mode restored

        // by hand: the query encoder in eval mode, its pooled features or its fc output, L2-normalised
        float[][] Feat(Tensor images)
        {
            using var _ = no_grad();
            var enc = trainer.Model.EncoderQ;
            enc.eval();
            using var x = Normalize.FashionMnist.Apply(images.to(ScalarType.Float32) / 255);
            using var f = features == "head" ? enc.call(x) : enc.Features(x);
            enc.train();
            Assert.Equal(features == "head" ? 128 : 32, f.shape[1]);
            return Enumerable.Range(0, (int)f.shape[0]).Select(i =>
            {
                var v = f[i].data<float>().ToArray();
                double norm = Math.Sqrt(v.Sum(a => (double)a * a));
                return v.Select(a => (float)(a / norm)).ToArray();
            }).ToArray();
        }
        var bank = Feat(train); var queries = Feat(test);
        var bankY = yTrain.data<long>().ToArray(); var testY = yTest.data<long>().ToArray();
        int correct = 0;
        for (int q = 0; q < queries.Length; q++)
        {
            var sims = bank.Select((b, i) => (sim: b.Zip(queries[q], (u, v) => (double)u * v).Sum(), i)).OrderByDescending(p => p.sim).Take(5);
            var votes = new double[3];
            foreach (var (sim, i) in sims) votes[bankY[i]] += Math.Exp(sim / 0.5);
            if (Array.IndexOf(votes, votes.Max()) == testY[q]) correct++;
        }
        Assert.Equal(correct / 10.0, monitor, 12);
        Assert.True(correct > 0, "a degenerate all-wrong case would not show a wrong vote");
    }
}

[Collection(GlobalRngCollection.Name)]
public class MocoTrainerStepTests
{
    [Fact]
    public void Same_seed_gives_the_same_steps_and_a_nan_loss_stops_at_the_guard_before_the_weights_move()
    {
        var cfg = MocoConfig.FromPreset("cifar") with { Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2, Seed = 5 };
        manual_seed(0);
        using var images = randint(0, 256, [16, 1, 14, 14], dtype: ScalarType.Byte);

        using var a = new MocoTrainer(cfg, CPU, Normalize.FashionMnist, images.shape[0]);
        using var orderA = a.NewEpochOrder();
        var stepsA = Enumerable.Range(0, 2).Select(s => a.Step(images, orderA, s)).ToList();
        using var b = new MocoTrainer(cfg, CPU, Normalize.FashionMnist, images.shape[0]);   // reseeds from cfg.Seed
        using var orderB = b.NewEpochOrder();
        var stepsB = Enumerable.Range(0, 2).Select(s => b.Step(images, orderB, s)).ToList();
        Assert.Equal(stepsA, stepsB);
        foreach (var (pa, pb) in a.Model.parameters().Zip(b.Model.parameters()))
            Assert.True(pa.equal(pb).all().item<bool>());
        Assert.True(a.Model.Queue.equal(b.Model.Queue).all().item<bool>());

        // one mechanism for a non-finite loss: the NaN guard, before backward and the optimizer step
        using (no_grad()) b.Model.EncoderQ.parameters().First().fill_(double.NaN);
        var weights = b.Model.EncoderQ.parameters().Skip(1).First().detach().clone();
        var e = Assert.Throws<Unsup.Training.NonFiniteException>(() => b.Step(images, orderB, 2));
        Assert.StartsWith("step 3: loss is NaN", e.Message);
        Assert.True(weights.equal(b.Model.EncoderQ.parameters().Skip(1).First()).all().item<bool>());
    }

    [Fact]
    public void Wrong_images_are_user_errors()
    {
        var cfg = MocoConfig.FromPreset("cifar") with { Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2 };
        using var t = new MocoTrainer(cfg, CPU, Normalize.FashionMnist, 16);
        Assert.Contains("uint8", Assert.Throws<UnsupException>(() => t.CheckImages(rand(16, 1, 8, 8))).Message);
        Assert.Contains("channels", Assert.Throws<UnsupException>(() => t.CheckImages(zeros(16, 3, 8, 8, dtype: ScalarType.Byte))).Message);
        Assert.Contains("--batch-size", Assert.Throws<UnsupException>(() => new MocoTrainer(cfg, CPU, Normalize.FashionMnist, 4)).Message);
    }
}
