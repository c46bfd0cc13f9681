using static TorchSharp.torch;

namespace Unsup.Registration.Affine;

/// <summary>
/// Mutual information of two images with values in [0, 1], from a joint histogram with Gaussian Parzen windows (differentiable);
/// the loss is −MI. Voxels where both images are 0 (outside the head and outside the field of view) are left out.
/// </summary>
public static class MutualInformation
{
    public static Tensor Loss(Tensor a, Tensor b, int bins = 32)
    {
        using var scope = NewDisposeScope();
        var x = a.reshape(-1); var y = b.reshape(-1);
        var keep = (x > 0) | (y > 0);
        x = x[keep]; y = y[keep];
        var centres = linspace(0, 1, bins, dtype: x.dtype, device: x.device);
        double sigma = 1.0 / bins;
        // clamped: exp of a large negative number underflows, and MKL's exp takes a slow path for every such element
        // (most of a bin row: a third of the whole iteration's time); e^-60 is still a normal float and weighs nothing
        var wx = (-(x.unsqueeze(1) - centres).square() / (2 * sigma * sigma)).clamp_min(-60).exp();
        var wy = (-(y.unsqueeze(1) - centres).square() / (2 * sigma * sigma)).clamp_min(-60).exp();
        wx = wx / (wx.sum(1, keepdim: true) + 1e-10);
        wy = wy / (wy.sum(1, keepdim: true) + 1e-10);
        var joint = wx.t().matmul(wy) / x.shape[0];
        var px = joint.sum(1, keepdim: true); var py = joint.sum(0, keepdim: true);
        var mi = (joint * ((joint + 1e-10).log() - (px.matmul(py) + 1e-10).log())).sum();
        return (-mi).MoveToOuterDisposeScope();
    }
}
