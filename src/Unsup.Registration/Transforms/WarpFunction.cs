using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// addend + image∘(id + disp) (trilinear, 3D, float32, CPU) as an autograd operation: <see cref="WarpKernel"/>
/// forward, <see cref="WarpBackwardKernel"/> backward. Training takes this path (scaling and squaring and the image
/// warps all need gradients); libtorch's grid_sample stays the reference in the tests and the path for other devices.
/// </summary>
internal sealed class WarpFunction : autograd.SingleTensorFunction<WarpFunction>
{
    public override string Name => nameof(WarpFunction);

    public static Tensor Apply(Tensor image, Tensor disp, Tensor? addend) => addend is null ? apply(image, disp) : apply(image, disp, addend);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var image = (Tensor)vars[0]; var disp = (Tensor)vars[1];
        var addend = vars.Length > 2 ? (Tensor)vars[2] : null;
        ctx.save_for_backward([image, disp]);
        ctx.save_data("imageGrad", image.requires_grad);
        ctx.save_data("addend", addend is not null);
        return WarpKernel.Warp(image, disp, addend);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        BackwardResults.ReleasePrevious();
        var saved = ctx.get_saved_variables();
        var (gDisp, gImage) = WarpBackwardKernel.Backward(saved[0], saved[1], grad, (bool)ctx.get_data("imageGrad"));
        foreach (var t in saved) t.Dispose();
        return BackwardResults.Hand((bool)ctx.get_data("addend") ? [gImage!, gDisp, grad] : [gImage!, gDisp], grad);
    }
}
