using TorchSharp;
using Unsup.Moco;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

public class MocoModelTests
{
    static readonly ResNetOptions Tiny = new(18, Width: 4, InChannels: 1, CifarStem: true);

    static MocoModel TinyModel(int k = 10, double m = 0.9, bool symmetric = false, int splits = 1, bool mlp = false)
    {
        manual_seed(1);
        return new MocoModel(Tiny, dim: 8, queueSize: k, momentum: m, temperature: 0.2, mlp: mlp, symmetric: symmetric, bnSplits: splits);
    }

    internal static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static float[] Data(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    [Fact]
    public void State_dict_has_the_official_key_names()
    {
        using var model = TinyModel(mlp: true);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("queue", keys);
        Assert.Contains("queue_ptr", keys);
        Assert.Contains("encoder_q.conv1.weight", keys);
        Assert.Contains("encoder_k.layer4.1.bn2.running_var", keys);
        Assert.Contains("encoder_q.layer2.0.downsample.0.weight", keys);
        Assert.Contains("encoder_q.fc.0.weight", keys);
        Assert.Contains("encoder_q.fc.2.bias", keys);
        Assert.Equal(new long[] { 8, 10 }, model.Queue.shape);
    }

    [Fact]
    public void Queue_starts_unit_norm_along_dim()
    {
        using var model = TinyModel();
        var norms = Data(model.Queue.norm(0));
        Assert.All(norms, n => Assert.Equal(1f, n, 4));
        Assert.Equal(0, model.QueuePointer);
    }

    [Fact]
    public void Enqueue_is_a_ring_buffer_that_wraps()
    {
        using var model = TinyModel(k: 10);
        using var keysA = arange(6 * 8, dtype: ScalarType.Float32).reshape(6, 8);
        model.Enqueue(keysA);
        Assert.Equal(6, model.QueuePointer);
        using var keysB = (arange(6 * 8, dtype: ScalarType.Float32) + 1000).reshape(6, 8);
        model.Enqueue(keysB);     // positions 6..9 then 0..1
        Assert.Equal(2, model.QueuePointer);
        var q = model.Queue;
        Assert.Equal(Data(keysB[0]), Data(q[.., 6]));
        Assert.Equal(Data(keysB[3]), Data(q[.., 9]));
        Assert.Equal(Data(keysB[4]), Data(q[.., 0]));
        Assert.Equal(Data(keysB[5]), Data(q[.., 1]));
        Assert.Equal(Data(keysA[2]), Data(q[.., 2]));
        Assert.Equal(Data(keysA[5]), Data(q[.., 5]));
    }

    [Fact]
    public void Enqueue_larger_than_queue_keeps_newest_keys()
    {
        using var model = TinyModel(k: 4);
        using var first = ones(1, 8);
        model.Enqueue(first);                                            // ptr 1
        using var keys = arange(6 * 8, dtype: ScalarType.Float32).reshape(6, 8);
        model.Enqueue(keys);                                             // 6 keys from ptr 1: ends at ptr 3
        Assert.Equal(3, model.QueuePointer);
        // written one by one: key j at (1+j)%4 -> keys 2,3,4,5 at 3,0,1,2
        Assert.Equal(Data(keys[2]), Data(model.Queue[.., 3]));
        Assert.Equal(Data(keys[3]), Data(model.Queue[.., 0]));
        Assert.Equal(Data(keys[5]), Data(model.Queue[.., 2]));
    }

    [Fact]
    public void Key_encoder_starts_as_exact_copy_without_grad()
    {
        using var model = TinyModel();
        foreach (var (pq, pk) in model.EncoderQ.parameters().Zip(model.EncoderK.parameters()))
        {
            Assert.False(pk.requires_grad);
            Assert.True(pq.requires_grad);
            Assert.True(Same(pq, pk));
        }
    }

    [Fact]
    public void Momentum_update_follows_the_formula_and_leaves_bn_buffers_alone()
    {
        using var model = TinyModel(m: 0.9);
        using (no_grad())
        {
            foreach (var p in model.EncoderQ.parameters()) p.add_(randn_like(p));
            foreach (var (_, b) in model.EncoderQ.named_buffers()) if (b.is_floating_point()) b.add_(1);
        }
        var qBefore = model.EncoderQ.parameters().Select(p => p.detach().clone()).ToList();
        var kBefore = model.EncoderK.parameters().Select(p => p.detach().clone()).ToList();
        var kBuffers = model.EncoderK.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
        Assert.True(kBuffers.Count >= 20);
        model.MomentumUpdate();
        var kAfter = model.EncoderK.parameters().ToList();
        for (int i = 0; i < kAfter.Count; i++)
        {
            using var expected = kBefore[i] * 0.9 + qBefore[i] * 0.1;
            Assert.True(kAfter[i].allclose(expected, rtol: 1e-6, atol: 1e-7), $"parameter {i}");
        }
        foreach (var (name, b) in model.EncoderK.named_buffers())
            Assert.True(Same(b, kBuffers[name]), $"buffer {name} changed");
    }

    [Fact]
    public void Step_gives_gradient_to_query_encoder_only()
    {
        using var model = TinyModel(splits: 2);
        model.train();
        using var x1 = rand(4, 1, 12, 12);
        using var x2 = rand(4, 1, 12, 12);
        using var outp = model.forward(x1, x2);
        outp.Loss.backward();
        Assert.All(model.EncoderK.parameters(), p => Assert.True(p.grad is null));
        Assert.Contains(model.EncoderQ.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.True(model.EncoderK.training);
    }

    [Fact]
    public void Logits_and_loss_equal_a_hand_computation()
    {
        // q, k unit vectors in 2-d; two negatives
        using var q = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var k = tensor(new float[] { 0.6f, 0.8f, 0, 1 }, [2, 2]);
        using var neg = tensor(new float[] { 1, 0, 0, -1 }, [2, 2]); // columns (1,0) and (0,-1)
        using var logits = MocoModel.Logits(q, k, neg, 0.5);
        // row 0: pos 0.6, negs 1, 0  -> /0.5 ; row 1: pos 1, negs 0, -1
        Assert.Equal(new float[] { 1.2f, 2f, 0f, 2f, 0f, -2f }, Data(logits), new FloatComparer(1e-6f));
        // InfoNCE at T = 0.5 is the cross-entropy of these logits against the positive (column 0)
        double l0 = -1.2 + Math.Log(Math.Exp(1.2) + Math.Exp(2) + 1);
        double l1 = -2 + Math.Log(Math.Exp(2) + 1 + Math.Exp(-2));
        using var zeros2 = zeros(2, dtype: ScalarType.Int64);
        using var ce = nn.functional.cross_entropy(logits, zeros2);
        Assert.Equal((l0 + l1) / 2, ce.item<float>(), 5);
        using var model = TinyModel();
        var (loss, top1) = model.Contrast(q, k, neg);
        // Contrast uses the model's T = 0.2: recompute the hand value at T = 0.2
        double T = 0.2;
        double m0 = -0.6 / T + Math.Log(Math.Exp(0.6 / T) + Math.Exp(1 / T) + 1);
        double m1 = -1 / T + Math.Log(Math.Exp(1 / T) + 1 + Math.Exp(-1 / T));
        Assert.Equal((m0 + m1) / 2, loss.item<float>(), 4);
        Assert.Equal(0.5f, top1.item<float>()); // row 0 ranks a negative first, row 1 the positive
    }

    [Fact]
    public void Shuffle_then_unshuffle_restores_order_and_positives_match()
    {
        using var g = new Generator(7);
        using var x = arange(16, dtype: ScalarType.Float32).reshape(8, 2);
        var (shuffled, idx) = BatchShuffle.ShuffleBatch(x, g);
        Assert.False(Same(shuffled, x));
        // a row-wise function (stand-in for the key encoder) keeps pairing after unshuffle
        using var f = shuffled * 3 + 1;
        using var back = BatchShuffle.UnshuffleBatch(f, idx);
        Assert.True(Same(back, x * 3 + 1));
        Assert.True(Same(BatchShuffle.UnshuffleBatch(shuffled, idx), x));
    }

    [Fact]
    public void Shuffled_key_pass_equals_manual_permutation_and_lines_up_with_queries()
    {
        using var model = TinyModel(splits: 2);
        model.train();
        using var x = rand(8, 1, 12, 12);
        model.ShuffleGenerator = new Generator(5);
        using var k = model.KeyFeatures(x);
        using var perm = randperm(8, generator: new Generator(5));
        using (no_grad())
        {
            using var kPerm = nn.functional.normalize(model.EncoderK.call(x.index_select(0, perm)), p: 2, dim: 1);
            using var manual = kPerm.index_select(0, argsort(perm));
            Assert.True(k.allclose(manual, atol: 1e-6));
        }
        // in eval mode BN does not depend on the batch: shuffled keys equal the unshuffled pass row for row
        model.eval();
        using var kEval = model.KeyFeatures(x);
        using (no_grad())
        {
            using var plain = nn.functional.normalize(model.EncoderK.call(x), p: 2, dim: 1);
            Assert.True(kEval.allclose(plain, atol: 1e-6));
        }
    }

    [Fact]
    public void Symmetric_step_updates_the_key_encoder_before_the_key_pass_uses_the_old_queue_and_enqueues_2N_keys_once()
    {
        using var model = TinyModel(k: 12, m: 0.5, symmetric: true, splits: 1);
        model.train();
        model.ShuffleKeys = false;
        // a few optimizer steps first, so the query and key encoders differ (at initialisation they are equal and the
        // order of momentum update and key pass could not show)
        using (var sgd = optim.SGD(model.EncoderQ.parameters(), 0.5))
            for (int i = 0; i < 3; i++)
            {
                using var a = rand(4, 1, 12, 12); using var b = rand(4, 1, 12, 12);
                sgd.zero_grad();
                using var o = model.forward(a, b);
                o.Loss.backward();
                sgd.step();
            }
        Assert.False(model.EncoderQ.parameters().Zip(model.EncoderK.parameters()).All(p => Same(p.First, p.Second)));

        using var x1 = rand(4, 1, 12, 12);
        using var x2 = rand(4, 1, 12, 12);
        using var queueBefore = model.Queue.clone();
        long ptr = model.QueuePointer;
        Tensor staleK1, staleK2;        // keys of the key encoder as it was before this step's momentum update
        using (no_grad())
        {
            staleK1 = nn.functional.normalize(model.EncoderK.call(x1), p: 2, dim: 1);
            staleK2 = nn.functional.normalize(model.EncoderK.call(x2), p: 2, dim: 1);
        }
        using var outp = model.forward(x1, x2);
        Assert.Equal((ptr + 8) % 12, model.QueuePointer);

        // recompute: encoder_q unchanged (no optimiser step), encoder_k already momentum-updated, BN over the whole batch
        using var _ = no_grad();
        var q1 = nn.functional.normalize(model.EncoderQ.call(x1), p: 2, dim: 1);
        var q2 = nn.functional.normalize(model.EncoderQ.call(x2), p: 2, dim: 1);
        var k1 = nn.functional.normalize(model.EncoderK.call(x1), p: 2, dim: 1);
        var k2 = nn.functional.normalize(model.EncoderK.call(x2), p: 2, dim: 1);
        var expected = model.Contrast(q1, k2, queueBefore).loss + model.Contrast(q2, k1, queueBefore).loss;
        Assert.Equal(expected.item<float>(), outp.Loss.item<float>(), 4);
        var stale = model.Contrast(q1, staleK2, queueBefore).loss + model.Contrast(q2, staleK1, queueBefore).loss;
        Assert.NotEqual(stale.item<float>(), outp.Loss.item<float>(), 3);
        var polluted = model.Contrast(q1, k2, model.Queue).loss + model.Contrast(q2, k1, model.Queue).loss;
        Assert.NotEqual(polluted.item<float>(), outp.Loss.item<float>(), 3);

        using var slots = (arange(8, dtype: ScalarType.Int64) + ptr).remainder(12);
        using var written = model.Queue.index_select(1, slots);
        Assert.True(written[.., ..4].allclose(k1.t(), atol: 1e-5));
        Assert.True(written[.., 4..8].allclose(k2.t(), atol: 1e-5));
        using var keptSlots = (arange(4, dtype: ScalarType.Int64) + ptr + 8).remainder(12);
        Assert.True(Same(model.Queue.index_select(1, keptSlots), queueBefore.index_select(1, keptSlots)));
    }
}

sealed class FloatComparer(float tol) : IEqualityComparer<float>
{
    public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
    public int GetHashCode(float f) => 0;
}
