using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>
/// Everything a checkpoint saves and a resume restores: the counters, named modules, optimizers, C#-side
/// generators, extra tensors restored in place (e.g. the MoCo queue), and free-form scalars/strings
/// (e.g. the queue pointer). Register the live objects once; <see cref="Checkpoint.Save"/> reads them and
/// <see cref="Checkpoint.Restore"/> writes into them.
/// </summary>
public sealed class TrainingState
{
    /// <summary>Optimizer steps completed (the checkpoint's name and the LR schedule's position).</summary>
    public long Step { get; set; }
    /// <summary>Epochs completed.</summary>
    public long Epoch { get; set; }
    public Dictionary<string, double> Scalars { get; } = new();
    public Dictionary<string, string> Strings { get; } = new();
    /// <summary>Save/restore torch's default CPU generator (dropout, random augmentation on tensors).</summary>
    public bool IncludeTorchRng { get; set; } = true;

    internal readonly List<(string Name, nn.Module Module)> Modules = new();
    internal readonly List<(string Name, optim.Optimizer Optimizer)> Optimizers = new();
    internal readonly List<(string Name, SeededRandom Random)> Randoms = new();
    internal readonly List<(string Name, Tensor Tensor)> Tensors = new();

    public TrainingState AddModule(string name, nn.Module module) { CheckName(name, Modules.Select(m => m.Name)); Modules.Add((name, module)); return this; }

    /// <summary>TorchSharp's managed optimizers (SGD, Adam, AdamW, ...): their momentum/moment buffers and step counts.</summary>
    public TrainingState AddOptimizer(string name, optim.Optimizer optimizer)
    {
        if (optimizer is not TorchSharp.Modules.OptimizerHelper)
            throw new ArgumentException($"optimizer '{name}' ({optimizer.GetType().Name}) cannot save its state; use one of TorchSharp's managed optimizers (SGD, Adam, AdamW...)");
        CheckName(name, Optimizers.Select(o => o.Name)); Optimizers.Add((name, optimizer)); return this;
    }

    public TrainingState AddRandom(string name, SeededRandom random) { CheckName(name, Randoms.Select(r => r.Name)); Randoms.Add((name, random)); return this; }

    /// <summary>A tensor that lives across steps (MoCo queue); restored in place, so its shape must not change.</summary>
    public TrainingState AddTensor(string name, Tensor tensor) { CheckName(name, Tensors.Select(t => t.Name)); Tensors.Add((name, tensor)); return this; }

    static void CheckName(string name, IEnumerable<string> existing)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("state entries need a name");
        if (existing.Contains(name)) throw new ArgumentException($"'{name}' is registered twice");
    }
}
