using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>Thrown by <see cref="NanGuard"/>; an UnsupException, so the CLI prints just the message.</summary>
public sealed class NonFiniteException(long step, string message) : UnsupException(message)
{
    public long Step { get; } = step;
}

/// <summary>
/// Stops training at the first NaN/Inf loss or gradient, before optimizer.step() lets it into the weights,
/// with a message naming the last good checkpoint and the --resume command. Since checkpoints are only written
/// after a finite step, the last checkpoint is always a good one.
/// </summary>
public sealed class NanGuard
{
    readonly Func<string?> _lastCheckpoint;
    readonly string? _runRoot;

    public NanGuard(RunFolder run) : this(() => run.Checkpoints.Latest, run.Root) { }

    /// <param name="lastCheckpoint">Where the last good checkpoint is (null: none yet).</param>
    /// <param name="runRoot">The folder --resume takes; null leaves the hint out.</param>
    public NanGuard(Func<string?> lastCheckpoint, string? runRoot)
    {
        _lastCheckpoint = lastCheckpoint;
        _runRoot = runRoot;
    }

    /// <summary>Checks a loss (any shape) with one device sync.</summary>
    public void CheckLoss(long step, Tensor loss, string what = "loss")
    {
        using var scope = torch.NewDisposeScope();
        if (loss.isfinite().all().item<bool>()) return;
        string kind = loss.isnan().any().item<bool>() ? "NaN" : "infinite";
        throw Stop(step, $"{what} is {kind}");
    }

    public void CheckValue(long step, string what, double value)
    {
        if (!double.IsFinite(value)) throw Stop(step, $"{what} is {(double.IsNaN(value) ? "NaN" : "infinite")}");
    }

    /// <summary>
    /// Checks every gradient of the modules after backward(): one isfinite().all() per gradient, stacked and
    /// read once, so the cost is a few kernels, not a sync per parameter.
    /// </summary>
    public void CheckGradients(long step, params nn.Module[] modules)
    {
        using var scope = torch.NewDisposeScope();
        var named = new List<(string Name, Tensor Grad)>();
        foreach (var m in modules)
            foreach (var (name, p) in m.named_parameters())
                if (p.grad is Tensor g) named.Add((name, g));
        if (named.Count == 0) return;
        var flags = torch.stack(named.Select(n => n.Grad.isfinite().all()).ToArray());
        if (flags.all().item<bool>()) return;
        var ok = flags.cpu().data<bool>().ToArray();
        var bad = named[Array.IndexOf(ok, false)];
        string kind = bad.Grad.isnan().any().item<bool>() ? "NaN" : "infinite";
        throw Stop(step, $"gradient of '{bad.Name}' is {kind}");
    }

    NonFiniteException Stop(long step, string problem)
    {
        var last = _lastCheckpoint();
        string where = last != null
            ? $"The last good checkpoint is {last}" + (_runRoot != null ? $" (resume with --resume {_runRoot})" : "")
            : "No checkpoint was written yet";
        return new NonFiniteException(step, $"step {step}: {problem}; stopped. {where}. A lower learning rate or checking the input data usually helps.");
    }
}
