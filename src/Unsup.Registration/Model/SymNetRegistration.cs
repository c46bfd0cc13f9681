using System.Diagnostics;
using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Model;

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
    /// <summary>Per-pair refinement of the network's velocities after the pass (null or 0 steps: the network's output as it is).</summary>
    public PairRefinement? Refinement { get; set; }
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

    /// <summary>
    /// A SYMNet holding the weights of a .pth state_dict (e.g. the official symnet_neurite_oasis_c7_80000.pth),
    /// an Unsup checkpoint or a run folder; its start channels and dimensionality are those of the weights.
    /// </summary>
    public static SymNetRegistration FromWeights(string weightsPath, Device? device = null) =>
        new(SymNetWeights.Create(weightsPath), device, ownsModel: true);

    /// <summary>
    /// Registers moving onto fixed. Inputs are raw intensities, either [*spatial] (one pair) or
    /// [N, 1, *spatial] (a batch), with 2 or 3 spatial axes matching the model.
    /// </summary>
    public SymNetRegistrationResult Register(Tensor fixedImage, Tensor movingImage)
    {
        var sw = Stopwatch.StartNew();
        using var pause = GcPause.Begin();
        using var scope = NewDisposeScope();
        using var fields = Pass(fixedImage, movingImage, out var spatial);
        var forward = SizePadding.Crop(fields.FullYX, spatial);
        var inverse = SizePadding.Crop(fields.FullXY, spatial);
        sw.Stop();
        return new SymNetRegistrationResult(forward.MoveToOuterDisposeScope(), inverse.MoveToOuterDisposeScope(), sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Every field of the symmetric pass at the input size: the velocities and the four half-way maps as well as
    /// the two full maps <see cref="Register"/> returns (for analysing the method, e.g. against the official code).
    /// </summary>
    public SymNetFields Fields(Tensor fixedImage, Tensor movingImage)
    {
        using var scope = NewDisposeScope();
        using var f = Pass(fixedImage, movingImage, out var spatial);
        Tensor Crop(Tensor t) => SizePadding.Crop(t, spatial).MoveToOuterDisposeScope();
        return new SymNetFields(Crop(f.VelocityXY), Crop(f.VelocityYX), Crop(f.HalfXY), Crop(f.HalfYX),
            Crop(f.HalfXYInverse), Crop(f.HalfYXInverse), Crop(f.FullXY), Crop(f.FullYX));
    }

    /// <summary>Normalisation, padding, the pass without gradients and the optional refinement; the caller's dispose scope owns the temporaries.</summary>
    private SymNetFields Pass(Tensor fixedImage, Tensor movingImage, out long[] spatial)
    {
        var x0 = AsBatch(fixedImage, "fixed");
        var y0 = AsBatch(movingImage, "moving");
        if (!x0.shape.SequenceEqual(y0.shape))
            throw new UnsupException($"fixed image [{Shape(fixedImage)}] and moving image [{Shape(movingImage)}] differ in shape; resample them to one grid first");
        spatial = x0.shape[2..];
        Tensor x, y;
        SymNetFields fields;
        using (no_grad())
        {
            x = SizePadding.Pad(IntensityNormalization.MinMax(x0.to(Device)), SymNet.SizeMultiple);
            y = SizePadding.Pad(IntensityNormalization.MinMax(y0.to(Device)), SymNet.SizeMultiple);
            fields = SymNetPipeline.Forward(Model, x, y, Steps);
        }
        if (Refinement is not { Steps: > 0 } refine) return fields;
        // the loss is that of training, over the padded images the network saw
        var refined = refine.Refine(x, y, fields, Steps);
        fields.Dispose();
        return refined;
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
