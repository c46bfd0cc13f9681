using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>A checkpoint read into memory (CPU tensors), verified but not yet applied. Owns its tensors.</summary>
public sealed class CheckpointData : IDisposable
{
    internal CheckpointData(string path) { Path = path; }

    public string Path { get; }
    public long Step { get; internal set; }
    public long Epoch { get; internal set; }
    public Dictionary<string, double> Scalars { get; } = new();
    public Dictionary<string, string> Strings { get; } = new();
    /// <summary>Module name → its state_dict (parameter and buffer name → tensor).</summary>
    public Dictionary<string, Dictionary<string, Tensor>> Modules { get; } = new();
    internal Dictionary<string, (string Type, byte[] State)> Optimizers { get; } = new();
    public Dictionary<string, ulong[]> Randoms { get; } = new();
    public Dictionary<string, Tensor> Tensors { get; } = new();
    public Tensor? TorchRng { get; internal set; }

    public IEnumerable<string> OptimizerNames => Optimizers.Keys;

    /// <summary>Validates against <paramref name="state"/>'s registrations, then restores them all.</summary>
    public void ApplyTo(TrainingState state)
    {
        // wrappers made while checking/copying die here; optimizer state is loaded outside this scope
        // because the optimizer keeps the buffers it creates while loading
        using (torch.NewDisposeScope()) CheckAndCopy(state);
        foreach (var (name, opt) in state.Optimizers)
        {
            try
            {
                using var r = new BinaryReader(new MemoryStream(Optimizers[name].State), Encoding.UTF8);
                var helper = (TorchSharp.Modules.OptimizerHelper)opt;
                helper.load_state_dict(r);
                KeepOutOfDisposeScopes(helper);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or IOException)
            { throw Problem($"optimizer '{name}' state does not fit this optimizer ({e.Message})", e); }
        }
        foreach (var (name, rng) in state.Randoms)
        {
            try { rng.SetState(Randoms[name]); }
            catch (ArgumentException e) { throw Problem($"generator '{name}': {e.Message}", e); }
        }
        if (state.IncludeTorchRng) torch.set_rng_state(TorchRng!);

        state.Step = Step;
        state.Epoch = Epoch;
        foreach (var (k, v) in Scalars) state.Scalars[k] = v;
        foreach (var (k, v) in Strings) state.Strings[k] = v;
    }

    /// <summary>
    /// Loading creates the optimizer's buffers (momentum, Adam moments) with torch.empty: on the CPU, and, if the
    /// caller is inside a dispose scope, registered there (freed under the optimizer's feet when it ends).
    /// TorchSharp's OptimizerState subclasses keep them in public Tensor fields, so fix both here: move them to
    /// the parameters' device (single-device training) and take them out of any scope.
    /// </summary>
    static void KeepOutOfDisposeScopes(TorchSharp.Modules.OptimizerHelper opt)
    {
        var device = opt.ParamGroups.OfType<TorchSharp.Modules.ParamGroup>().SelectMany(g => g.Parameters).FirstOrDefault()?.device;
        foreach (var st in opt.state_dict().State)
            foreach (var f in st.GetType().GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                if (f.GetValue(st) is not Tensor t) continue;
                if (device != null && t.device_type != device.type)
                {
                    var moved = t.to(device).DetachFromDisposeScope();
                    f.SetValue(st, moved);
                    t.Dispose();
                }
                else t.DetachFromDisposeScope();
            }
    }

    void CheckAndCopy(TrainingState state)
    {
        foreach (var (name, module) in state.Modules)
        {
            if (!Modules.TryGetValue(name, out var saved)) throw Problem($"has no module '{name}' (it holds {List(Modules.Keys)})");
            var live = module.state_dict();
            foreach (var (key, t) in live)
            {
                if (!saved.TryGetValue(key, out var s)) throw Problem($"module '{name}' has no '{key}' (the model expects it; is this checkpoint from another architecture?)");
                if (!s.shape.SequenceEqual(t.shape))
                    throw Problem($"module '{name}' parameter '{key}' has shape {TensorRecord.FormatShape(s.shape)} in the checkpoint but {TensorRecord.FormatShape(t.shape)} in the model");
            }
            var extra = saved.Keys.Except(live.Keys).ToList();
            if (extra.Count > 0) throw Problem($"module '{name}' has {List(extra)} which the model does not have (another architecture?)");
        }
        foreach (var (name, opt) in state.Optimizers)
        {
            if (!Optimizers.TryGetValue(name, out var saved)) throw Problem($"has no optimizer '{name}'");
            if (saved.Type != opt.GetType().Name) throw Problem($"optimizer '{name}' is {saved.Type} in the checkpoint but {opt.GetType().Name} now");
        }
        foreach (var (name, _) in state.Randoms)
            if (!Randoms.ContainsKey(name)) throw Problem($"has no generator '{name}'");
        foreach (var (name, t) in state.Tensors)
        {
            if (!Tensors.TryGetValue(name, out var s)) throw Problem($"has no tensor '{name}'");
            if (!s.shape.SequenceEqual(t.shape))
                throw Problem($"tensor '{name}' has shape {TensorRecord.FormatShape(s.shape)} in the checkpoint but {TensorRecord.FormatShape(t.shape)} now");
        }
        if (state.IncludeTorchRng && TorchRng is null) throw Problem("holds no torch generator state");

        using (torch.no_grad())
        {
            foreach (var (name, module) in state.Modules)
            {
                var saved = Modules[name];
                foreach (var (key, t) in module.state_dict()) t.copy_(saved[key]);
            }
            foreach (var (name, t) in state.Tensors) t.copy_(Tensors[name]);
        }
    }

    UnsupException Problem(string what, Exception? inner = null) => UnsupException.ForFile(Path, "checkpoint " + what, inner);
    static string List(IEnumerable<string> names) { var l = names.ToList(); return l.Count == 0 ? "nothing" : string.Join(", ", l.Select(n => $"'{n}'")); }

    public void Dispose()
    {
        foreach (var sd in Modules.Values) foreach (var t in sd.Values) t.Dispose();
        foreach (var t in Tensors.Values) t.Dispose();
        TorchRng?.Dispose();
        Modules.Clear(); Tensors.Clear(); TorchRng = null;
    }
}
