using TorchSharp;
using Unsup.Distributed;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>
/// Momentum Contrast (He et al. 2020; v2 head and the CIFAR demo's symmetric loss as options) on one device.
/// Field names equal the official code's state-dict keys: <c>encoder_q.*</c>, <c>encoder_k.*</c>, <c>queue</c>, <c>queue_ptr</c>.
/// A step: query pass, momentum update of the key encoder's parameters (not its BN buffers), key pass under
/// no_grad with the batch shuffled across BN splits, logits against a detached copy of the queue, then enqueue.
/// </summary>
public sealed class MocoModel : nn.Module<Tensor, Tensor, MocoOutput>
{
#pragma warning disable IDE1006 // names match the official checkpoints
    private readonly ResNet encoder_q;
    private readonly ResNet encoder_k;
    private readonly Tensor queue;
    private readonly Tensor queue_ptr;
#pragma warning restore IDE1006

    public int Dim { get; }
    public int QueueSize { get; }
    public double Momentum { get; set; }
    public double Temperature { get; }
    public bool Symmetric { get; }
    /// <summary>Shuffle the key batch before the key pass (on by default; only matters with BN splits).</summary>
    public bool ShuffleKeys { get; set; } = true;
    /// <summary>Generator for the key-batch permutation; null = torch's default generator (seeded by TorchRuntime.Seed).</summary>
    public Generator? ShuffleGenerator { get; set; }
    /// <summary>
    /// Ranks training together (null or one rank: single-device behaviour). With several, each rank passes its shard of
    /// the global batch and the key pass is the official shuffling BN across ranks: images all-gathered, a permutation of
    /// the global batch broadcast from rank 0, each rank's key encoder on its share of the shuffled batch, keys
    /// all-gathered and unshuffled; the queue receives the global keys, so it stays identical on every rank.
    /// </summary>
    public Communicator? Comm { get; set; }
    bool Distributed => Comm is { IsDistributed: true };

    /// <param name="backbone">Backbone shape (both encoders).</param>
    /// <param name="dim">Feature dimension (128).</param>
    /// <param name="queueSize">K, the number of negatives.</param>
    /// <param name="momentum">m in θk ← m·θk + (1−m)·θq.</param>
    /// <param name="temperature">T.</param>
    /// <param name="mlp">v2 MLP head instead of v1 linear.</param>
    /// <param name="symmetric">Both crop orders per step.</param>
    /// <param name="bnSplits">SplitBatchNorm splits in both encoders (1 = plain BatchNorm2d).</param>
    public MocoModel(ResNetOptions backbone, int dim = 128, int queueSize = 65536, double momentum = 0.999,
        double temperature = 0.07, bool mlp = false, bool symmetric = false, int bnSplits = 1) : base(nameof(MocoModel))
    {
        if (queueSize < 1) throw new UnsupException($"--moco-k {queueSize}: must be positive");
        if (momentum < 0 || momentum > 1) throw new UnsupException($"--moco-m {momentum}: must be in [0, 1]");
        if (temperature <= 0) throw new UnsupException($"--moco-t {temperature}: must be positive");
        Dim = dim; QueueSize = queueSize; Momentum = momentum; Temperature = temperature; Symmetric = symmetric;

        NormLayerFactory norm = bnSplits > 1 ? c => new SplitBatchNorm(c, bnSplits) : c => nn.BatchNorm2d(c);
        encoder_q = new ResNet(backbone, norm, ProjectionHead.Create(backbone.FeatureDim, dim, mlp));
        encoder_k = new ResNet(backbone, norm, ProjectionHead.Create(backbone.FeatureDim, dim, mlp));
        using (no_grad())
        {
            foreach (var (pq, pk) in encoder_q.parameters().Zip(encoder_k.parameters()))
            {
                pk.copy_(pq);
                pk.requires_grad = false;
            }
        }
        queue = nn.functional.normalize(randn(dim, queueSize), p: 2, dim: 0);
        queue_ptr = zeros(1, dtype: ScalarType.Int64);
        RegisterComponents();
    }

    public ResNet EncoderQ => encoder_q;
    public ResNet EncoderK => encoder_k;
    /// <summary>The negatives [dim, K] (live buffer; clone before keeping).</summary>
    public Tensor Queue => queue;
    public long QueuePointer
    {
        get { using var first = queue_ptr[0]; return first.item<long>(); }
    }

    /// <summary>Parameters the optimiser trains (the query encoder only).</summary>
    public IEnumerable<(string name, TorchSharp.Modules.Parameter param)> TrainableParameters() => encoder_q.named_parameters();

    public override MocoOutput forward(Tensor im1, Tensor im2)
    {
        using var scope = NewDisposeScope();
        var q1 = nn.functional.normalize(encoder_q.call(im1), p: 2, dim: 1);
        var q2 = Symmetric ? nn.functional.normalize(encoder_q.call(im2), p: 2, dim: 1) : null;

        MomentumUpdate();
        var (k2, k2All) = Keys(im2);
        var (k1, k1All) = Symmetric ? Keys(im1) : (null, null);

        // Read before this step's keys are enqueued: a step never uses its own keys as negatives.
        var negatives = queue.clone().detach();
        var (loss, top1) = Contrast(q1, k2, negatives);
        if (Symmetric)
        {
            var (loss21, top21) = Contrast(q2!, k1!, negatives);
            loss = loss + loss21;
            top1 = (top1 + top21) / 2;
        }
        Enqueue(Symmetric ? cat([k1All!, k2All], 0) : k2All);
        return new MocoOutput(loss.MoveToOuterDisposeScope(), top1.MoveToOuterDisposeScope());
    }

    /// <summary>θk ← m·θk + (1−m)·θq over parameters only; BN running statistics stay each encoder's own.</summary>
    public void MomentumUpdate()
    {
        using var _ = no_grad();
        double m = Momentum;
        foreach (var (pq, pk) in encoder_q.parameters().Zip(encoder_k.parameters()))
            pk.mul_(m).add_(pq, alpha: 1 - m);
    }

    /// <summary>This rank's keys and the global batch's keys (the same tensor in a single process).</summary>
    (Tensor local, Tensor global) Keys(Tensor images)
    {
        if (!Distributed) { var k = KeyFeatures(images); return (k, k); }
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var comm = Comm!;
        Tensor global;
        if (ShuffleKeys)
        {
            var all = comm.AllgatherRows(images);
            // every rank draws the permutation so the generators stay in step; rank 0's is the one used (as the official code)
            var perm = comm.BroadcastIndices(randperm(all.shape[0], generator: ShuffleGenerator)).to(images.device);
            var kShuffled = nn.functional.normalize(encoder_k.call(comm.ShareOfRows(all.index_select(0, perm))), p: 2, dim: 1);
            global = comm.AllgatherRows(kShuffled).index_select(0, argsort(perm));
        }
        else global = comm.AllgatherRows(nn.functional.normalize(encoder_k.call(images), p: 2, dim: 1));
        var local = comm.ShareOfRows(global);
        return (local.MoveToOuterDisposeScope(), global.MoveToOuterDisposeScope());
    }

    /// <summary>L2-normalised keys in the original batch order (shuffled across BN splits inside).</summary>
    public Tensor KeyFeatures(Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        if (!ShuffleKeys)
            return nn.functional.normalize(encoder_k.call(images), p: 2, dim: 1).MoveToOuterDisposeScope();
        var (shuffled, unshuffle) = BatchShuffle.ShuffleBatch(images, ShuffleGenerator);
        var k = nn.functional.normalize(encoder_k.call(shuffled), p: 2, dim: 1);
        return BatchShuffle.UnshuffleBatch(k, unshuffle).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [N, 1+K] = cat(q·k₊, q·negatives) / T; the positive is column 0.</summary>
    public static Tensor Logits(Tensor q, Tensor k, Tensor negatives, double temperature)
    {
        using var scope = NewDisposeScope();
        var lPos = (q * k).sum(1, keepdim: true);
        var lNeg = q.mm(negatives);
        return (cat([lPos, lNeg], 1) / temperature).MoveToOuterDisposeScope();
    }

    /// <summary>Cross-entropy against label 0 and the contrastive top-1 (positive ranked first).</summary>
    public (Tensor loss, Tensor top1) Contrast(Tensor q, Tensor k, Tensor negatives)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(q, k, negatives, Temperature);
        var labels = zeros(logits.shape[0], dtype: ScalarType.Int64, device: logits.device);
        var loss = nn.functional.cross_entropy(logits, labels);
        Tensor top1;
        using (no_grad()) top1 = logits.argmax(1).eq(0).to(ScalarType.Float32).mean();
        return (loss.MoveToOuterDisposeScope(), top1.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Writes keys [B, dim] into the queue at the pointer as a ring buffer: wraps around the end, so any batch size
    /// works (the official code asserts K % B == 0). If B &gt; K only the newest K keys survive, as if written one by one.
    /// </summary>
    public void Enqueue(Tensor keys)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long b = keys.shape[0], kSize = QueueSize;
        long ptr = QueuePointer;
        long skip = Math.Max(0, b - kSize);
        var kept = keys.narrow(0, skip, b - skip).detach();
        var idx = (arange(kept.shape[0], dtype: ScalarType.Int64, device: queue.device) + (ptr + skip)).remainder(kSize);
        queue.index_copy_(1, idx, kept.t().to(queue.dtype));
        queue_ptr.fill_((ptr + b) % kSize);
    }
}
