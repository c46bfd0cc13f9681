using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// The SYMNet U-Net (Mok &amp; Chung, CVPR 2020): the fixed and moving images, concatenated as two
/// channels, give two stationary velocity fields, v_XY and v_YX, each squashed by Softsign into (-1, 1).
/// </summary>
/// <remarks>
/// Outputs are in units of <see cref="RangeFlow"/> voxels, exactly as the official network:
/// multiply by <see cref="RangeFlow"/> to get voxels (<see cref="SymNetPipeline"/> does).
/// Channel 0 is the component along the last array axis (W), channel 1 along H, channel 2 along D.
/// Submodule names match the official PyTorch model (eninput, ec1..ec9, dc1..dc10, up1..up4, each a
/// Sequential whose index 0 holds the convolution), so the official state_dict loads unchanged.
/// Every spatial size must be divisible by 16 (four stride-2 levels).
/// </remarks>
public sealed class SymNet : nn.Module<Tensor, Tensor, (Tensor vXY, Tensor vYX)>
{
    /// <summary>Velocity scale of the official code: Softsign output × RangeFlow = voxels.</summary>
    public const double RangeFlow = 100.0;

    /// <summary>Spatial sizes must be multiples of this.</summary>
    public const int SizeMultiple = 16;

    public int Dims { get; }
    public int StartChannels { get; }

#pragma warning disable IDE1006 // official parameter names
    private readonly Sequential eninput, ec1, ec2, ec3, ec4, ec5, ec6, ec7, ec8, ec9;
    private readonly Sequential dc1, dc2, dc3, dc4, dc5, dc6, dc7, dc8, dc9, dc10;
    private readonly Sequential up1, up2, up3, up4;
#pragma warning restore IDE1006

    /// <param name="startChannels">C of the paper; the official pretrained models use 7 (neurite-OASIS) or 8.</param>
    /// <param name="dims">3 for volumes [N,1,D,H,W], 2 for slices [N,1,H,W].</param>
    public SymNet(int startChannels = 7, int dims = 3) : base(nameof(SymNet))
    {
        if (dims is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(dims), dims, "SymNet is 2D or 3D");
        if (startChannels < 1) throw new ArgumentOutOfRangeException(nameof(startChannels));
        Dims = dims;
        StartChannels = startChannels;
        int c = startChannels;

        eninput = Block(2, c);
        ec1 = Block(c, c);
        ec2 = Block(c, 2 * c, stride: 2);
        ec3 = Block(2 * c, 2 * c);
        ec4 = Block(2 * c, 4 * c, stride: 2);
        ec5 = Block(4 * c, 4 * c);
        ec6 = Block(4 * c, 8 * c, stride: 2);
        ec7 = Block(8 * c, 8 * c);
        ec8 = Block(8 * c, 16 * c, stride: 2);
        ec9 = Block(16 * c, 8 * c);

        dc1 = Block(16 * c, 8 * c);
        dc2 = Block(8 * c, 4 * c);
        dc3 = Block(8 * c, 4 * c);
        dc4 = Block(4 * c, 2 * c);
        dc5 = Block(4 * c, 4 * c);   // 4C -> 4C as in the official model (not 2C)
        dc6 = Block(4 * c, 2 * c);
        dc7 = Block(3 * c, 2 * c);
        dc8 = Block(2 * c, 2 * c);
        dc9 = Head(2 * c, dims);
        dc10 = Head(2 * c, dims);

        up1 = Up(8 * c);
        up2 = Up(4 * c);
        up3 = Up(2 * c);
        up4 = Up(2 * c);

        // A fresh network starts near the identity, as VoxelMorph initialises its flow layer: with PyTorch's default
        // init the heads' Softsign × 100 gives random fields of tens of voxels (validation Dice 0.20 against 0.39 without
        // registration), and training from there settled on v_XY ≈ v_YX, whose full maps are the identity
        using (no_grad())
            foreach (var head in new[] { dc9, dc10 })
                foreach (var p in head.parameters()) p.normal_(0, HeadInitStd);

        RegisterComponents();
    }

    /// <summary>Channels feeding the velocity heads (the last decoder block's outputs).</summary>
    public long DecoderChannels => 2 * StartChannels;

    /// <summary>
    /// How many of the <see cref="DecoderChannels"/> were zero at every voxel of the last forward pass in training mode
    /// (inference does not count them). Every block ends in a ReLU, so a channel at zero everywhere passes no gradient
    /// back: too high a learning rate can push them all there within tens of steps (from scratch at Adam 1e-3;
    /// bench/results/registration/from-scratch.md), after which the network outputs no deformation and training cannot
    /// bring it back.
    /// </summary>
    public long LastDeadChannels { get; private set; }

    private static long DeadChannels(Tensor features)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var reduce = Enumerable.Range(0, (int)features.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
        return features.amax(reduce).le(0).sum().item<long>();
    }

    /// <summary>Std of the velocity heads' initial weights (VoxelMorph's flow-layer init); loaded weights replace them.</summary>
    public const double HeadInitStd = 1e-5;

    public override (Tensor vXY, Tensor vYX) forward(Tensor x, Tensor y)
    {
        // Intermediates are disposed as soon as they are consumed: a full 160×192×224 pass would
        // otherwise hold every activation (several GB) until the end. Autograd keeps its own
        // references, so this is safe when training too.
        var e0 = Chain(ChannelsLast(cat([x, y], 1)), eninput, ec1);
        var e1 = Chain(e0.alias(), ec2, ec3);
        var e2 = Chain(e1.alias(), ec4, ec5);
        var e3 = Chain(e2.alias(), ec6, ec7);
        var e4 = Chain(e3.alias(), ec8, ec9);
        var d0 = Chain(Join(Chain(e4, up1), e3), dc1, dc2);
        var d1 = Chain(Join(Chain(d0, up2), e2), dc3, dc4);
        var d2 = Chain(Join(Chain(d1, up3), e1), dc5, dc6);
        var d3 = Chain(Join(Chain(d2, up4), e0), dc7, dc8);
        if (training) LastDeadChannels = DeadChannels(d3);
        var vXY = Run(dc9, d3);
        var vYX = Run(dc10, d3);
        d3.Dispose();
        return (vXY, vYX);
    }

    // 3D activations and weights in channels-last (NDHWC) strides: libtorch then hands every convolution to
    // oneDNN's brgemm kernels on the NDHWC data directly, where contiguous tensors went either to its slow native
    // 3D convolution or to oneDNN with a reorder of every input to a blocked layout and of every output back.
    // The parameters themselves stay contiguous (serialisers expect that); their channels-last copies are small.
    private Tensor ChannelsLast(Tensor input)
    {
        if (Dims != 3) return input;
        var converted = ToChannelsLast(input);
        input.Dispose();
        return converted;
    }

    private static Tensor ToChannelsLast(Tensor t) => t.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3);

    // one block, conv (or transposed conv) then activation; 3D convolutions take channels-last weights
    private Tensor Run(Sequential block, Tensor input)
    {
        if (Dims != 3) return block.forward(input);
        using var scope = NewDisposeScope();
        var pre = block[0] switch
        {
            Conv3d c => nn.functional.conv3d(input, ToChannelsLast(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups),
            ConvTranspose3d u => nn.functional.conv_transpose3d(input, ToChannelsLast(u.weight), u.bias, u.stride, u.padding, u.output_padding, u.dilation, u.groups),
            var other => throw new InvalidOperationException($"unexpected layer {other.GetType().Name}"),
        };
        return ((nn.Module<Tensor, Tensor>)block[1]).forward(pre).MoveToOuterDisposeScope();
    }

    // runs the blocks in turn, disposing the input and every intermediate
    private Tensor Chain(Tensor input, params Sequential[] blocks)
    {
        var t = input;
        foreach (var b in blocks)
        {
            var next = Run(b, t);
            t.Dispose();
            t = next;
        }
        return t;
    }

    // skip connection: channel concatenation, consuming both parts
    private static Tensor Join(Tensor up, Tensor skip)
    {
        var joined = cat([up, skip], 1);
        up.Dispose();
        skip.Dispose();
        return joined;
    }

    private nn.Module<Tensor, Tensor> Conv(long cin, long cout, long k, long stride, long pad, bool bias) => Dims == 3
        ? nn.Conv3d(cin, cout, k, stride: stride, padding: pad, bias: bias)
        : nn.Conv2d(cin, cout, k, stride: stride, padding: pad, bias: bias);

    private Sequential Block(long cin, long cout, long stride = 1) =>
        nn.Sequential(Conv(cin, cout, 3, stride, 1, bias: true), nn.ReLU());

    // The velocity heads have no bias; Softsign bounds each velocity component to ±RangeFlow voxels.
    private Sequential Head(long cin, int dims) =>
        nn.Sequential(Conv(cin, dims, 5, 1, 2, bias: false), nn.Softsign());

    private Sequential Up(long channels) => nn.Sequential(
        Dims == 3
            ? nn.ConvTranspose3d(channels, channels, 2, stride: 2, bias: true)
            : nn.ConvTranspose2d(channels, channels, 2, stride: 2, bias: true),
        nn.ReLU());
}
