using Unsup.Moco;
using Unsup.Moco.Augment;
using Unsup.Moco.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

public class MocoTrainerTests
{
    static MocoConfig Tiny => MocoConfig.FromPreset("cifar") with
    {
        Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2, Epochs = 2, Symmetric = true, KnnK = 5,
    };

    [Fact]
    public void Epoch_runs_reports_progress_and_fills_the_queue_as_a_ring()
    {
        manual_seed(0);
        using var trainer = new MocoTrainer(Tiny, CPU, Normalize.FashionMnist) { Generator = new Generator(1) };
        using var images = randint(0, 256, [20, 1, 14, 14], dtype: ScalarType.Byte);
        var reports = new List<MocoProgress>();
        var before = trainer.Model.EncoderQ.parameters().First().detach().clone();
        var r = trainer.TrainEpoch(images, reports.Add);
        Assert.Equal(2, reports.Count);                          // 20 images, batch 8, last partial dropped
        Assert.All(reports, p => Assert.True(double.IsFinite(p.Loss) && p.Top1 is >= 0 and <= 1 && p.ImagesPerSecond > 0));
        Assert.Equal(1, trainer.Epoch);
        Assert.Equal(0.03 * 8 / 256, r.Lr, 12);
        Assert.Equal((2 * 2 * 8) % 20, trainer.Model.QueuePointer); // symmetric: 2N keys per step, wrapped
        Assert.False(before.equal(trainer.Model.EncoderQ.parameters().First()).all().item<bool>());
        var r2 = trainer.TrainEpoch(images);
        Assert.True(r2.Lr < r.Lr);                                // cosine decays
    }

    [Fact]
    public void Checkpoint_round_trip_restores_queue_and_pointer_bit_for_bit()
    {
        manual_seed(0);
        using var dir = TestData.Temp();
        using var trainer = new MocoTrainer(Tiny with { Symmetric = false }, CPU, Normalize.FashionMnist);
        using var images = randint(0, 256, [24, 1, 14, 14], dtype: ScalarType.Byte);
        trainer.TrainEpoch(images);
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

    [Fact]
    public void Knn_monitor_runs_on_labelled_data()
    {
        manual_seed(0);
        using var trainer = new MocoTrainer(Tiny with { KnnK = 1 }, CPU, Normalize.FashionMnist);
        using var train = randint(0, 256, [16, 1, 12, 12], dtype: ScalarType.Byte);
        using var labels = randint(0, 3, [16], dtype: ScalarType.Int64);
        // test = train with k = 1: every query's nearest neighbour is itself (similarity 1)
        var data = new MocoData(train, labels, train, labels, 3);
        Assert.Equal(1.0, trainer.KnnAccuracy(data));
        Assert.True(trainer.Model.EncoderQ.training);   // mode restored
    }
}

[Collection(GlobalRngCollection.Name)]
public class MocoTrainerStepTests
{
    [Fact]
    public void Step_api_reproduces_an_epoch_with_the_same_seed_and_hands_the_loss_to_a_guard()
    {
        var cfg = MocoConfig.FromPreset("cifar") with { Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2, Seed = 5 };
        manual_seed(0);
        using var images = randint(0, 256, [16, 1, 14, 14], dtype: ScalarType.Byte);

        using var a = new MocoTrainer(cfg, CPU, Normalize.FashionMnist);
        var epochA = a.TrainEpoch(images);

        using var b = new MocoTrainer(cfg, CPU, Normalize.FashionMnist);   // reseeds from cfg.Seed
        double lr = b.StartEpoch(0);
        using var order = b.NewEpochOrder(images.shape[0]);
        var seen = new List<float>();
        double sum = 0;
        for (int s = 0; s < b.StepsPerEpoch(images.shape[0]); s++)
            sum += b.Step(images, order, s, loss => seen.Add(loss.item<float>())).loss;
        Assert.Equal(epochA.Lr, lr);
        Assert.Equal(2, seen.Count);
        Assert.True(Math.Abs(epochA.Loss - sum / 2) < 1e-5, $"epoch loss {epochA.Loss} vs steps {sum / 2} ({string.Join(", ", seen)})");
        foreach (var (pa, pb) in a.Model.parameters().Zip(b.Model.parameters()))
            Assert.True(pa.allclose(pb, atol: 1e-6));
        Assert.True(a.Model.Queue.allclose(b.Model.Queue, atol: 1e-6));
    }

    [Fact]
    public void Wrong_images_are_user_errors()
    {
        var cfg = MocoConfig.FromPreset("cifar") with { Width = 4, InChannels = 1, CropSize = 12, QueueSize = 20, BatchSize = 8, BnSplits = 2 };
        using var t = new MocoTrainer(cfg, CPU, Normalize.FashionMnist);
        Assert.Contains("uint8", Assert.Throws<UnsupException>(() => t.CheckImages(rand(16, 1, 8, 8))).Message);
        Assert.Contains("channels", Assert.Throws<UnsupException>(() => t.CheckImages(zeros(16, 3, 8, 8, dtype: ScalarType.Byte))).Message);
        Assert.Contains("--batch-size", Assert.Throws<UnsupException>(() => t.CheckImages(zeros(4, 1, 8, 8, dtype: ScalarType.Byte))).Message);
    }
}
