using TorchSharp;
using Unsup.Moco.Augment;
using Unsup.Moco.Models;
using Unsup.Moco.Weights;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>
/// The one feature extractor: features of un-augmented images from a backbone (and optionally its projection head)
/// in eval mode, without gradients, batched, with the normalisation the encoder was trained with. Used by the
/// pretraining kNN monitor (the live query encoder) and by every `moco` verb (a <see cref="PretrainedEncoder"/>),
/// so both give the same numbers for the same weights. The modules' train/eval mode is restored afterwards.
/// Grayscale images fed to a 3-channel backbone (e.g. ImageNet weights on Fashion-MNIST) are repeated over the three channels.
/// </summary>
public sealed class EncoderFeatures(ResNet backbone, nn.Module<Tensor, Tensor>? head, Normalize normalize, Device device, int batchSize = 256,
    string source = "the encoder", string format = "", ProgressMode progressMode = ProgressMode.Quiet)
{
    /// <summary>A pretrained encoder with its normalisation (Fashion-MNIST statistics for 1-channel backbones, ImageNet for 3-channel ones).</summary>
    /// <param name="progress">How <see cref="Extract(Tensor, string, bool)"/> shows its progress bar.</param>
    public static EncoderFeatures Of(PretrainedEncoder encoder, Device device, int batchSize = 256, ProgressMode progress = ProgressMode.Quiet) =>
        new(encoder.To(device).Backbone, encoder.Head, Normalize.ForChannels(encoder.Options.InChannels), device, batchSize, encoder.Source, encoder.Format, progress);

    /// <summary><see cref="Extract(Tensor, bool, Action{long, long})"/> with a progress bar named <paramref name="label"/>.</summary>
    public Tensor Extract(Tensor images, string label, bool useHead = false)
    {
        using var bar = new ProgressReporter(label, images.shape[0], mode: progressMode);
        return Extract(images, useHead, (done, _) => bar.Update(done));
    }

    public ResNet Backbone => backbone;

    /// <param name="images">uint8 or [0,1] float [N, C, H, W], any device (batches are moved to the extractor's device).</param>
    /// <param name="useHead">Return the projection head's L2-normalised output instead of the pooled backbone features.</param>
    /// <param name="progress">Called after each batch with (images done, total).</param>
    /// <returns>[N, D] float32 on the CPU.</returns>
    public Tensor Extract(Tensor images, bool useHead = false, Action<long, long>? progress = null)
    {
        if (useHead && head == null)
            throw new UnsupException($"{source}: these weights have no MoCo projection head ({format}); use the backbone's pooled features (leave out --head; --knn-features backbone)");
        var input = Adapt(images);
        long n = input.shape[0];
        var parts = new List<Tensor>();
        using var _ = no_grad();
        using var mode = new EvalMode(backbone, useHead ? head : null);
        // every batch allocates the same activations: keep them in the heap instead of mapping them afresh, as a step does
        using var reuse = NativeAllocator.ReuseBlocksUpTo(Training.MocoPretraining.ReusedBlockBytes);
        try
        {
            for (long start = 0; start < n; start += batchSize)
            {
                using var pause = GcPause.Begin();
                using var scope = NewDisposeScope();
                var batch = input.narrow(0, start, Math.Min(batchSize, n - start)).to(device);
                var f = backbone.Features(normalize.Apply(MocoAugmentation.ToUnitFloat(batch)));
                if (useHead) f = nn.functional.normalize(head!.call(f), p: 2, dim: 1);
                parts.Add(f.to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
                progress?.Invoke(start + batch.shape[0], n);
            }
            return n == 0 ? zeros(0, useHead ? 0 : backbone.Options.FeatureDim) : cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            if (!ReferenceEquals(input, images)) input.Dispose();
        }
    }

    /// <summary>
    /// For the augmented linear protocol (main_lincls.py): a function from training-image indices to the features of
    /// fresh random crops (area 8–100%, resized back to the image size) with random horizontal flips, through the
    /// frozen backbone in eval mode without gradients. Every call draws new crops from <paramref name="generator"/>.
    /// </summary>
    public Func<Tensor, Tensor> AugmentedBatches(Tensor images, Generator generator)
    {
        var input = Adapt(images);
        var crop = new RandomResizedCrop((int)Math.Min(images.shape[2], images.shape[3]));
        var flip = new RandomHorizontalFlip();
        backbone.to(device);
        backbone.eval();
        return idx =>
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var x = MocoAugmentation.ToUnitFloat(input.index_select(0, idx.cpu()).to(device));
            x = normalize.Apply(flip.Apply(crop.Apply(x, generator), generator));
            return backbone.Features(x).MoveToOuterDisposeScope();
        };
    }

    /// <summary>The images with the channel count the backbone takes (a view when nothing changes).</summary>
    Tensor Adapt(Tensor images)
    {
        if (images.dim() != 4) throw new UnsupException($"expected images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        long c = images.shape[1], want = backbone.Options.InChannels;
        if (c == want) return images;
        if (c == 1 && want == 3) return images.expand(-1, 3, -1, -1);
        throw new UnsupException($"{source}: the backbone takes {want}-channel images but the data has {c} channels");
    }

    /// <summary>Eval mode on the device for the extraction; the previous train/eval mode comes back on dispose.</summary>
    sealed class EvalMode : IDisposable
    {
        readonly (nn.Module Module, bool Training)[] saved;

        public EvalMode(params nn.Module?[] modules)
        {
            saved = modules.OfType<nn.Module>().Select(m => (m, m.training)).ToArray();
            foreach (var (m, _) in saved) m.eval();
        }

        public void Dispose()
        {
            foreach (var (m, training) in saved) m.train(training);
        }
    }
}
