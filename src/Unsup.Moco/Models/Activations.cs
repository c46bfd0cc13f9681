using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Models;

/// <summary>
/// Forward passes that hold no more activations than PyTorch does. A TorchSharp handle keeps its tensor alive until
/// disposed, so an intermediate left to the step's dispose scope lives until the step ends, where PyTorch frees it as
/// soon as its last use has run; for eval-mode feature extraction that kept five full-resolution activations alive at
/// once. Releasing a handle never breaks backward: autograd holds its own reference to what it saved.
/// </summary>
internal static class Activations
{
    /// <summary>Applies <paramref name="module"/> and releases the input handle (which the caller must own).</summary>
    public static Tensor Into(this Tensor input, nn.Module<Tensor, Tensor> module)
    {
        var output = module.call(input);
        if (!ReferenceEquals(output, input)) input.Dispose();
        return output;
    }
}
