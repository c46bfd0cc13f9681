using TorchSharp;
using TorchSharp.PyBridge;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Model;

/// <summary>
/// The one reader and writer of SYMNet weights, for registration, training (--init) and the bench alike. Accepts a
/// PyTorch state_dict (<c>torch.save(model.state_dict())</c>: the official pretrained .pth files, or a run's model.pth),
/// an Unsup checkpoint (.ckpt, module <see cref="CheckpointModule"/>) or a run folder (its latest checkpoint, else
/// its model.pth). The architecture (start channels, 2D/3D) is read from the weights, so no caller has to know it.
/// </summary>
public static class SymNetWeights
{
    /// <summary>The checkpoint module name under which the trainer saves the network.</summary>
    public const string CheckpointModule = "symnet";

    /// <summary>The file a finished training run writes its weights to.</summary>
    public const string RunWeightsFile = "model.pth";

    // the first convolution, [C, 2, k...]: gives the start channels and the dimensionality
    const string FirstWeight = "eninput.0.weight";

    /// <summary>Start channels and dimensionality the weights were trained with.</summary>
    public static (int StartChannels, int Dims) Architecture(string path)
    {
        var sd = ReadStateDict(path, out _);
        try { return Architecture(sd); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// <summary>A new SYMNet built with the architecture of the weights and holding them.</summary>
    public static SymNet Create(string path)
    {
        var sd = ReadStateDict(path, out var source);
        try
        {
            var (channels, dims) = Architecture(sd);
            var model = new SymNet(channels, dims);
            try { Copy(model, sd, source); }
            catch { model.Dispose(); throw; }
            return model;
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// <summary>
    /// Copies the weights into <paramref name="model"/>. Any missing key, unexpected key or shape mismatch is an
    /// <see cref="UnsupException"/> naming the keys, so a model of another width or dimensionality fails readably.
    /// </summary>
    public static void Load(SymNet model, string path)
    {
        var sd = ReadStateDict(path, out var source);
        try { Copy(model, sd, source); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// <summary>Writes the model's state_dict in PyTorch's format (loadable by torch.load), atomically.</summary>
    public static void Save(nn.Module model, string path) =>
        Unsup.IO.AtomicFile.Write(path, stream => model.save_py(stream, leaveOpen: true));

    /// <summary>Missing keys, unexpected keys and shape mismatches between a model and a state_dict, by name.</summary>
    public static List<string> Compare(nn.Module model, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var own = model.state_dict();
        var problems = new List<string>();
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (missing.Count > 0) problems.Add("missing keys: " + string.Join(", ", missing));
        if (unexpected.Count > 0) problems.Add("unexpected keys: " + string.Join(", ", unexpected));
        foreach (var (key, value) in stateDict)
            if (own.TryGetValue(key, out var mine) && !mine.shape.SequenceEqual(value.shape))
                problems.Add($"{key} has shape [{string.Join("x", value.shape)}] in the file, [{string.Join("x", mine.shape)}] in the model");
        return problems;
    }

    static (int StartChannels, int Dims) Architecture(Dictionary<string, Tensor> sd) =>
        ((int)sd[FirstWeight].shape[0], (int)sd[FirstWeight].dim() - 2);

    static void Copy(SymNet model, Dictionary<string, Tensor> sd, string source)
    {
        var problems = Compare(model, sd);
        if (problems.Count > 0)
            throw UnsupException.ForFile(source, $"weights do not fit this SYMNet (C={model.StartChannels}, {model.Dims}D): " + string.Join("; ", problems));
        using var noGrad = no_grad();
        var own = model.state_dict();
        foreach (var (key, value) in sd) own[key].copy_(value.to(own[key].dtype));
    }

    /// <summary>The state_dict of a .pth, .ckpt or run folder; <paramref name="source"/> is the file it came from.</summary>
    static Dictionary<string, Tensor> ReadStateDict(string path, out string source)
    {
        source = path = ResolveFile(path);
        Dictionary<string, Tensor> sd;
        if (path.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            using var data = Checkpoint.Read(path);
            if (!data.Modules.TryGetValue(CheckpointModule, out var m))
                throw UnsupException.ForFile(path, $"is not SYMNet weights: the checkpoint has no '{CheckpointModule}' module (is it from another trainer?)");
            // copies: the checkpoint object disposes its own tensors
            sd = m.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }
        else
        {
            Unsup.IO.TorchPickleCheck.ThrowIfLying(path);
            try
            {
                using var stream = File.OpenRead(path);
                var table = PyTorchUnpickler.UnpickleStateDict(stream);
                sd = [];
                foreach (var key in table.Keys)
                    if (table[key] is Tensor t) sd[(string)key] = t;
            }
            catch (Exception e) when (e is not UnsupException)
            {
                throw UnsupException.ForFile(path, $"is not SYMNet weights: not a readable PyTorch state_dict (torch.save zip format) or Unsup checkpoint: {e.Message}", e);
            }
        }
        if (!sd.TryGetValue(FirstWeight, out var first) || first.dim() is not (4 or 5) || first.shape[1] != 2)
        {
            foreach (var t in sd.Values) t.Dispose();
            throw UnsupException.ForFile(path, $"is not SYMNet weights: no {FirstWeight} of shape [C, 2, k, k(, k)] among its {sd.Count} tensors");
        }
        return sd;
    }

    /// <summary>A run folder stands for its latest checkpoint (or, without one, its model.pth).</summary>
    static string ResolveFile(string path)
    {
        if (Directory.Exists(path))
        {
            var latest = new CheckpointStore(Path.Combine(path, "checkpoints")).Latest;
            if (latest != null) return latest;
            var weights = Path.Combine(path, RunWeightsFile);
            if (File.Exists(weights)) return weights;
            throw UnsupException.ForFile(path, $"is a folder without checkpoints/latest or {RunWeightsFile}; give a .pth/.ckpt file or a SYMNet run folder");
        }
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "weights file not found");
        return path;
    }
}
