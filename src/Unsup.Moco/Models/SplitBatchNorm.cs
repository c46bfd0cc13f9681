using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unsup.Moco.Models;

/// <summary>
/// BatchNorm2d that, in train mode, normalises each of <see cref="Splits"/> sub-batches with its own statistics,
/// as if they sat on different devices (the official CIFAR-10 MoCo demo's layer). Sample i belongs to split
/// i mod splits (the demo's <c>view(-1, C*splits, H, W)</c> layout). Running statistics are updated per split and
/// averaged over the splits; eval mode is plain BatchNorm. Parameter and buffer names equal BatchNorm2d's, so
/// state dicts are interchangeable.
/// </summary>
public sealed class SplitBatchNorm : nn.Module<Tensor, Tensor>
{
    public int Splits { get; }
    public double Momentum { get; }
    public double Eps { get; }

#pragma warning disable IDE1006 // names match PyTorch state-dict keys
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;
#pragma warning restore IDE1006

    public SplitBatchNorm(long features, int splits, double momentum = 0.1, double eps = 1e-5) : base(nameof(SplitBatchNorm))
    {
        if (splits < 1) throw new ArgumentOutOfRangeException(nameof(splits), "must be at least 1");
        Splits = splits; Momentum = momentum; Eps = eps;
        weight = new Parameter(ones(features));
        bias = new Parameter(zeros(features));
        running_mean = zeros(features);
        running_var = ones(features);
        num_batches_tracked = zeros(1, dtype: ScalarType.Int64).squeeze();
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
        register_buffer(nameof(running_mean), running_mean);
        register_buffer(nameof(running_var), running_var);
        register_buffer(nameof(num_batches_tracked), num_batches_tracked);
    }

    public Tensor Weight => weight;
    public Tensor Bias => bias;
    public Tensor RunningMean => running_mean;
    public Tensor RunningVar => running_var;

    public override Tensor forward(Tensor input)
    {
        if (!training)
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, false, Momentum, Eps);
        if (Splits == 1)
        {
            using (no_grad()) num_batches_tracked.add_(1);
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, true, Momentum, Eps);
        }

        long n = input.shape[0], c = input.shape[1];
        if (n % Splits != 0)
            throw new UnsupException($"batch of {n} images cannot be split into {Splits} batch-norm splits (--bn-splits must divide the batch size)");
        var rest = input.shape.Skip(2).ToArray();
        using var scope = NewDisposeScope();
        // Sample r*splits+s lands in channel block s: one BN call over splits*C channels = per-split statistics.
        var meanSplit = running_mean.repeat(Splits);
        var varSplit = running_var.repeat(Splits);
        var folded = input.reshape([n / Splits, c * Splits, .. rest]);
        var output = nn.functional.batch_norm(folded, meanSplit, varSplit, weight.repeat(Splits), bias.repeat(Splits), true, Momentum, Eps)
            .reshape(input.shape);
        using (no_grad())
        {
            running_mean.copy_(meanSplit.view(Splits, c).mean([0]));
            running_var.copy_(varSplit.view(Splits, c).mean([0]));
            num_batches_tracked.add_(1);
        }
        return output.MoveToOuterDisposeScope();
    }
}
