using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// A random image transform over a whole batch [N, C, H, W] (float, values in [0, 1]) where every image draws its own
/// parameters. Parameters are drawn on the CPU from <paramref name="generator"/> (torch's default generator when null)
/// so a seed reproduces them on any device.
/// </summary>
public interface IBatchTransform
{
    Tensor Apply(Tensor images, Generator? generator);
}

/// <summary>Per-image random draws, always on the CPU in float64 (device-independent and reproducible).</summary>
internal static class Draw
{
    public static Tensor Uniform(long n, double lo, double hi, Generator? g) =>
        rand([n], dtype: ScalarType.Float64, generator: g).mul_(hi - lo).add_(lo);

    public static Tensor Uniform(long[] shape, double lo, double hi, Generator? g) =>
        rand(shape, dtype: ScalarType.Float64, generator: g).mul_(hi - lo).add_(lo);

    /// <summary>Bool [n]: true with probability p.</summary>
    public static Tensor Bernoulli(long n, double p, Generator? g) => rand([n], dtype: ScalarType.Float64, generator: g).lt(p);

    /// <summary>Reshapes a per-image CPU vector to [N,1,1,1] on the images' device and dtype.</summary>
    public static Tensor PerImage(Tensor v, Tensor like) => v.to(like.dtype).to(like.device).view(-1, 1, 1, 1);
}
