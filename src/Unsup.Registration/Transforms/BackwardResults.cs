using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Lifetime of what a custom autograd function's backward hands to libtorch (<see cref="WarpFunction"/>,
/// <see cref="Losses.BoxSumFunction"/>). TorchSharp passes the incoming gradient and the results through managed
/// wrappers that sit in the caller's dispose scope until the training step ends, so every gradient of every such node
/// stayed alive until then (a SYMNet training step at 160x144x192 peaked 1.6 GB higher). libtorch holds its own
/// references once a backward has returned, and the engine runs the nodes one after another on the calling thread,
/// so each backward releases the previous one's wrappers: a gradient is freed when autograd is done with it, as with
/// libtorch's own functions.
/// </summary>
internal static class BackwardResults
{
    [ThreadStatic] static List<Tensor>? pending;

    /// <summary>Call first in a backward: disposes the wrappers the previous backward on this thread handed over.</summary>
    public static void ReleasePrevious()
    {
        if (pending is null) return;
        foreach (var t in pending) t.Dispose();
        pending = null;
    }

    /// <summary>Returns <paramref name="results"/>, remembering them and <paramref name="incoming"/> for the next <see cref="ReleasePrevious"/>.</summary>
    public static List<Tensor> Hand(List<Tensor> results, Tensor incoming)
    {
        pending = [.. results.Where(t => t is not null), incoming];
        return results;
    }
}
