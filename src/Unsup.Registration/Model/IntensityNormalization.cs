using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>Per-image min-max scaling to [0, 1], the official SYMNet preprocessing (imgnorm).</summary>
public static class IntensityNormalization
{
    /// <summary>images [N, C, *spatial]: each sample scaled by its own min and max; a constant image becomes 0.</summary>
    public static Tensor MinMax(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = images.to(ScalarType.Float32);
        var flat = x.reshape(x.shape[0], -1);
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        var lo = flat.amin(1).reshape(shape);
        var hi = flat.amax(1).reshape(shape);
        var range = hi - lo;
        var safe = where(range > 0, range, ones_like(range));
        return ((x - lo) / safe).MoveToOuterDisposeScope();
    }
}
