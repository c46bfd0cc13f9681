using TorchSharp;
using TorchSharp.PyBridge;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Training;

/// <summary>
/// Starting weights for fine-tuning: a PyTorch state_dict (.pth/.pt, e.g. the official pretrained model),
/// an Unsup checkpoint (.ckpt, module "symnet") or a run folder (its latest checkpoint).
/// </summary>
public static class SymNetInit
{
    /// <summary>The checkpoint module name under which trainers save the network.</summary>
    public const string ModuleName = "symnet";

    /// <summary>Start channels and dimensionality the weights were trained with (from eninput.0.weight [C, 2, k...]).</summary>
    public static (int StartChannels, int Dims) Architecture(string path)
    {
        var sd = ReadStateDict(path, out var source);
        try
        {
            if (!sd.TryGetValue("eninput.0.weight", out var w))
                throw UnsupException.ForFile(source, "holds no SYMNet weights (no eninput.0.weight)");
            return ((int)w.shape[0], (int)w.dim() - 2);
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// <summary>Copies the weights into <paramref name="model"/>; any mismatch is an UnsupException naming the keys.</summary>
    public static void Load(SymNet model, string path)
    {
        var sd = ReadStateDict(path, out var source);
        try
        {
            var problems = SymNetWeights.Compare(model, sd);
            if (problems.Count > 0)
                throw UnsupException.ForFile(source, $"weights do not fit this SYMNet (C={model.StartChannels}, {model.Dims}D): " + string.Join("; ", problems));
            using (no_grad())
            {
                var own = model.state_dict();
                foreach (var (key, value) in sd) own[key].copy_(value.to(own[key].dtype));
            }
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    static Dictionary<string, Tensor> ReadStateDict(string path, out string source)
    {
        source = path;
        if (Directory.Exists(path))
        {
            var latest = new CheckpointStore(Path.Combine(path, "checkpoints")).Latest
                ?? throw UnsupException.ForFile(path, "is a folder without checkpoints/latest; give a .pth/.ckpt file or a run folder with a checkpoint");
            source = path = latest;
        }
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "weights file not found");
        if (path.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            using var data = Checkpoint.Read(path);
            if (!data.Modules.TryGetValue(ModuleName, out var m))
                throw UnsupException.ForFile(path, $"checkpoint has no '{ModuleName}' module (is it from another trainer?)");
            // detach the tensors from the checkpoint object, which disposes its own on Dispose
            var copy = m.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            return copy;
        }
        try
        {
            using var stream = File.OpenRead(path);
            var table = PyTorchUnpickler.UnpickleStateDict(stream);
            var sd = new Dictionary<string, Tensor>();
            foreach (var key in table.Keys)
                if (table[key] is Tensor t) sd[(string)key] = t;
            return sd;
        }
        catch (Exception e) when (e is not UnsupException)
        {
            throw UnsupException.ForFile(path, $"not a readable PyTorch state_dict or Unsup checkpoint: {e.Message}", e);
        }
    }
}
