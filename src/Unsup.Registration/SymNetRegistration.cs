using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration;

/// <summary>
/// Pairwise registration with a trained SYMNet, following the official inference
/// (Test_SYMNet_neurite_oasis.py): min-max normalisation, one symmetric pass without gradients,
/// 7 scaling-and-squaring steps, full maps by composition of the half-way maps. Sizes that are not
/// multiples of 16 are zero-padded at the high end and the outputs cropped back.
/// </summary>
public sealed class SymNetRegistration : IDisposable
{
    public SymNet Model { get; }
    public Device Device { get; }
    public int Steps { get; }
    private readonly bool ownsModel;

    public SymNetRegistration(SymNet model, Device? device = null, int steps = DiffeomorphicTransform.DefaultSteps, bool ownsModel = false)
    {
        Device = device ?? CPU;
        Model = model;
        Model.to(Device);
        Model.eval();
        Steps = steps;
        this.ownsModel = ownsModel;
    }

    /// <summary>A SYMNet loaded from a torch.save'd state_dict (e.g. the official symnet_neurite_oasis_c7_80000.pth).</summary>
    public static SymNetRegistration FromWeights(string weightsPath, int startChannels = 7, int dims = 3, Device? device = null)
    {
        var model = new SymNet(startChannels, dims);
        try
        {
            SymNetWeights.Load(model, weightsPath);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new SymNetRegistration(model, device, ownsModel: true);
    }

    /// <summary>
    /// Registers moving onto fixed. Inputs are raw intensities, either [*spatial] (one pair) or
    /// [N, 1, *spatial] (a batch), with 2 or 3 spatial axes matching the model.
    /// </summary>
    public SymNetRegistrationResult Register(Tensor fixedImage, Tensor movingImage)
    {
        var x0 = AsBatch(fixedImage, "fixed");
        var y0 = AsBatch(movingImage, "moving");
        if (!x0.shape.SequenceEqual(y0.shape))
            throw new UnsupException($"fixed image [{Shape(fixedImage)}] and moving image [{Shape(movingImage)}] differ in shape; resample them to one grid first");

        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var spatial = x0.shape.AsSpan(2).ToArray();
        var x = IntensityNormalization.MinMax(x0.to(Device));
        var y = IntensityNormalization.MinMax(y0.to(Device));

        using var fields = SymNetPipeline.Forward(Model, SizePadding.Pad(x, SymNet.SizeMultiple), SizePadding.Pad(y, SymNet.SizeMultiple), Steps);
        var forward = SizePadding.Crop(fields.FullYX, spatial);
        var inverse = SizePadding.Crop(fields.FullXY, spatial);
        var halfFixed = SizePadding.Crop(fields.HalfXY, spatial);
        var halfMoving = SizePadding.Crop(fields.HalfYX, spatial);
        var moved = SpatialTransformer.Warp(y, forward);
        var movedFixed = SpatialTransformer.Warp(x, inverse);
        sw.Stop();

        return new SymNetRegistrationResult(
            forward.MoveToOuterDisposeScope(), inverse.MoveToOuterDisposeScope(),
            halfFixed.MoveToOuterDisposeScope(), halfMoving.MoveToOuterDisposeScope(),
            moved.MoveToOuterDisposeScope(), movedFixed.MoveToOuterDisposeScope(),
            sw.Elapsed.TotalSeconds);
    }

    private Tensor AsBatch(Tensor image, string what)
    {
        int nd = Model.Dims;
        if (image.dim() == nd) return image.reshape([1, 1, .. image.shape]);
        if (image.dim() == nd + 2 && image.shape[1] == 1) return image;
        throw new UnsupException($"{what} image has shape [{Shape(image)}]; a {nd}D SYMNet expects [{(nd == 3 ? "D, H, W" : "H, W")}] or [N, 1, {(nd == 3 ? "D, H, W" : "H, W")}]");
    }

    private static string Shape(Tensor t) => string.Join(", ", t.shape);

    public void Dispose()
    {
        if (ownsModel) Model.Dispose();
    }
}
