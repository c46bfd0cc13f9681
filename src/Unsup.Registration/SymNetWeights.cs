using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Unsup.Registration;

/// <summary>
/// Loads SYMNet weights saved by PyTorch (<c>torch.save(model.state_dict())</c>, e.g. the official
/// pretrained .pth files) or by Unsup (same format via <see cref="Save"/>).
/// </summary>
public static class SymNetWeights
{
    /// <summary>
    /// Copies every tensor of the file into <paramref name="model"/>. Any missing key, unexpected key or
    /// shape mismatch is an <see cref="UnsupException"/> naming the keys, so a model built with the
    /// wrong start channels or dimensionality fails with a readable message.
    /// </summary>
    public static void Load(nn.Module model, string path)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "weights file not found");
        Dictionary<string, Tensor> saved;
        try
        {
            using var stream = File.OpenRead(path);
            var table = PyTorchUnpickler.UnpickleStateDict(stream);
            saved = new Dictionary<string, Tensor>();
            foreach (var key in table.Keys)
                if (table[key] is Tensor t) saved[(string)key] = t;
        }
        catch (Exception e) when (e is not UnsupException)
        {
            throw UnsupException.ForFile(path, $"not a readable PyTorch state_dict (torch.save zip format): {e.Message}", e);
        }

        try
        {
            var problems = Compare(model, saved);
            if (problems.Count > 0)
                throw UnsupException.ForFile(path, "weights do not fit this SYMNet: " + string.Join("; ", problems));
            using (no_grad())
            {
                var own = model.state_dict();
                foreach (var (key, value) in saved)
                    own[key].copy_(value.to(own[key].dtype));
            }
        }
        finally
        {
            foreach (var t in saved.Values) t.Dispose();
        }
    }

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

    /// <summary>Writes the model's state_dict in PyTorch's format (loadable by torch.load), atomically.</summary>
    public static void Save(nn.Module model, string path) =>
        Unsup.IO.AtomicFile.Write(path, stream => model.save_py(stream, leaveOpen: true));
}
