using Unsup.Moco.Augment;
using Unsup.Moco.Weights;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>
/// Features of un-augmented images from a <see cref="PretrainedEncoder"/>: eval mode, no gradients, batched, with
/// the normalisation the encoder was trained with (Fashion-MNIST statistics for 1-channel backbones, ImageNet for
/// 3-channel ones). Grayscale images fed to a 3-channel backbone (e.g. ImageNet weights on Fashion-MNIST) are
/// repeated over the three channels.
/// </summary>
public static class EncoderFeatures
{
    /// <param name="images">uint8 or [0,1] float [N, C, H, W] on the CPU.</param>
    /// <param name="head">Return the projection head's L2-normalised output instead of the pooled backbone features.</param>
    /// <param name="progress">Called after each batch with (images done, total).</param>
    /// <returns>[N, D] float32 on the CPU.</returns>
    public static Tensor Extract(PretrainedEncoder encoder, Tensor images, Device device, bool head = false, int batchSize = 256,
        Action<long, long>? progress = null)
    {
        if (head && encoder.Head == null)
            throw new UnsupException($"{encoder.Source}: these weights have no MoCo projection head ({encoder.Format}); leave out --head to get the backbone's pooled features");
        var input = Adapt(encoder, images);
        var normalize = Normalize.ForChannels(encoder.Options.InChannels);
        encoder.To(device);
        encoder.Backbone.eval();
        encoder.Head?.eval();
        using var _ = no_grad();
        long n = input.shape[0];
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = input.narrow(0, start, Math.Min(batchSize, n - start)).to(device);
                var x = normalize.Apply(MocoAugmentation.ToUnitFloat(batch));
                var f = encoder.Backbone.Features(x);
                if (head) f = nn.functional.normalize(encoder.Head!.call(f), p: 2, dim: 1);
                parts.Add(f.to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
                progress?.Invoke(start + batch.shape[0], n);
            }
            return n == 0 ? zeros(0, head ? 0 : encoder.Options.FeatureDim) : cat(parts, 0);
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
    public static Func<Tensor, Tensor> AugmentedBatches(PretrainedEncoder encoder, Tensor images, Device device, Generator generator)
    {
        var input = Adapt(encoder, images);
        var normalize = Normalize.ForChannels(encoder.Options.InChannels);
        var crop = new RandomResizedCrop((int)Math.Min(images.shape[2], images.shape[3]));
        var flip = new RandomHorizontalFlip();
        encoder.To(device);
        encoder.Backbone.eval();
        return idx =>
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var x = MocoAugmentation.ToUnitFloat(input.index_select(0, idx.cpu()).to(device));
            x = normalize.Apply(flip.Apply(crop.Apply(x, generator), generator));
            return encoder.Backbone.Features(x).MoveToOuterDisposeScope();
        };
    }

    /// <summary>The images with the channel count the backbone takes (a view when nothing changes).</summary>
    static Tensor Adapt(PretrainedEncoder encoder, Tensor images)
    {
        if (images.dim() != 4) throw new UnsupException($"expected images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        long c = images.shape[1], want = encoder.Options.InChannels;
        if (c == want) return images;
        if (c == 1 && want == 3) return images.expand(-1, 3, -1, -1);
        throw new UnsupException($"{encoder.Source}: the backbone takes {want}-channel images but the data has {c} channels");
    }
}
