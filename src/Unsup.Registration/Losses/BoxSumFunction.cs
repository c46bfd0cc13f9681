using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>
/// Window sums over the last three axes as an autograd operation on the CPU: <see cref="BoxSumKernel"/> forward and,
/// the filter being symmetric, the same filter on the incoming gradient backward. Training's local NCC filters five
/// statistics three times per step; as depthwise conv3d (forward and backward) that was the largest single cost of the
/// loss.
/// </summary>
internal sealed class BoxSumFunction : autograd.SingleTensorFunction<BoxSumFunction>
{
    public override string Name => nameof(BoxSumFunction);

    /// <summary>Window sums of x [..., D, H, W] (float32, CPU) over a cube of odd width <paramref name="window"/>.</summary>
    public static Tensor Apply(Tensor x, int window) => apply(x, window);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var window = (int)vars[1];
        ctx.save_data("window", window);
        return Filter((Tensor)vars[0], window);
    }

    // one gradient per forward argument: none for the window
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        Transforms.BackwardResults.ReleasePrevious();
        return Transforms.BackwardResults.Hand([Filter(grad, (int)ctx.get_data("window")), null!], grad);
    }

    static Tensor Filter(Tensor x, int window)
    {
        var shape = x.shape;
        using var flat = x.reshape(-1, shape[^3], shape[^2], shape[^1]).contiguous();
        using var sums = BoxSumKernel.Sum(flat, window);
        return sums.reshape(shape);
    }
}
