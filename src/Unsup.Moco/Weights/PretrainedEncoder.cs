using TorchSharp;
using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Moco.Weights;

/// <summary>
/// A backbone (and, when the weights came from a MoCo model, its projection head) loaded by <see cref="EncoderWeights"/>.
/// The backbone has no fc: it maps images to pooled features. Owns its modules.
/// </summary>
public sealed class PretrainedEncoder : IDisposable
{
    internal PretrainedEncoder(ResNet backbone, nn.Module<Tensor, Tensor>? head, string source, string format, IReadOnlyList<string> ignored)
    {
        Backbone = backbone; Head = head; Source = source; Format = format; Ignored = ignored;
    }

    public ResNet Backbone { get; }
    /// <summary>MoCo projection head (v1 linear or v2 MLP), or null (plain torchvision weights: their fc is a classifier and is dropped).</summary>
    public nn.Module<Tensor, Tensor>? Head { get; }
    /// <summary>The file that was read (a run folder resolves to its latest checkpoint).</summary>
    public string Source { get; }
    /// <summary>"unsup checkpoint", "moco checkpoint (torch.save)" or "torchvision state_dict".</summary>
    public string Format { get; }
    /// <summary>Entries of the file that are not part of the query encoder (key encoder, queue, classifier fc...), by name.</summary>
    public IReadOnlyList<string> Ignored { get; }

    public ResNetOptions Options => Backbone.Options;

    /// <summary>"resnet18 (width 64, 3-channel input, ImageNet stem, MLP head)" for messages.</summary>
    public string Describe() =>
        $"resnet{Options.Depth} (width {Options.Width}, {Options.InChannels}-channel input, {Options.StemName} stem, " +
        (Head == null ? "no head" : Head is TorchSharp.Modules.Linear ? "linear head" : "MLP head") + ")";

    /// <summary>The same architecture at random (torchvision) initialisation: the baseline a pretrained encoder must beat.</summary>
    public PretrainedEncoder WithRandomWeights(long seed)
    {
        manual_seed(seed);
        var fresh = new ResNet(Options);
        fresh.eval();
        return new PretrainedEncoder(fresh, null, Source, "random initialisation (architecture of " + Format + ")", []);
    }

    public PretrainedEncoder To(Device device)
    {
        Backbone.to(device);
        Head?.to(device);
        return this;
    }

    public void Dispose() { Backbone.Dispose(); Head?.Dispose(); }
}
