using System.Collections;
using System.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using Unsup.Moco.Models;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Moco.Weights;

/// <summary>
/// Loads a pretrained ResNet backbone from any of the places a MoCo encoder lives:
/// <list type="bullet">
/// <item>an Unsup run folder (its latest checkpoint; config.json states the architecture, which is checked) or checkpoint file;</item>
/// <item>the official MoCo checkpoint: <c>torch.save({'epoch','arch','state_dict','optimizer'})</c> with keys <c>module.encoder_q.*</c>;</item>
/// <item>a plain torchvision ResNet <c>state_dict</c> (optionally <c>module.</c>-prefixed), e.g. one written by <see cref="ExportTorchvision"/>.</item>
/// </list>
/// The architecture is read from the tensors (depth from the block counts, width and input channels from conv1, stem
/// from conv1's kernel). Key-encoder, queue and classifier entries are dropped and listed; a missing, unexpected or
/// mis-shaped backbone tensor is an <see cref="UnsupException"/> naming the file and the keys.
/// </summary>
public static class EncoderWeights
{
    const string Query = "encoder_q.";

    /// <param name="path">Run folder, Unsup checkpoint, official MoCo .pth.tar or torchvision .pth.</param>
    /// <param name="expected">When given, the weights must be exactly this architecture (else: first mismatching key with both shapes).</param>
    public static PretrainedEncoder Load(string path, ResNetOptions? expected = null)
    {
        string file = Directory.Exists(path) ? LatestCheckpoint(path) : path;
        // the stem's stride is not in the tensors: a run's config.json states it, also for one of its checkpoint files
        string? runDir = Directory.Exists(path) ? path : RunOfCheckpoint(path);
        if (expected == null && runDir != null && File.Exists(Path.Combine(runDir, RunFolder.ConfigFile)))
        {
            try { expected = RunFolder.Open(runDir).ReadConfig<MocoConfig>().Backbone; }
            catch (UnsupException) { /* the tensors still say what they are */ }
        }
        var (tensors, format) = ReadTensors(file);
        try
        {
            return Build(file, tensors, format, expected);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// RUN for a checkpoint in any folder of RUN (checkpoints/, or one a user copied checkpoints to): the folder
    /// above the file's that holds a config.json; else null.
    /// </summary>
    static string? RunOfCheckpoint(string file)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!file.EndsWith(".ckpt", StringComparison.Ordinal) || dir == null) return null;
        var run = Path.GetDirectoryName(dir);
        return run != null && File.Exists(Path.Combine(run, RunFolder.ConfigFile)) ? run : null;
    }

    /// <summary>The checkpoint "latest" names in RUN/checkpoints.</summary>
    public static string LatestCheckpoint(string runDir)
    {
        if (!File.Exists(Path.Combine(runDir, RunFolder.ConfigFile)) && !Directory.Exists(Path.Combine(runDir, "checkpoints")))
            throw UnsupException.ForFile(runDir, "is a folder but not an Unsup run (no config.json, no checkpoints/): give a run folder or a weights file");
        return new CheckpointStore(Path.Combine(runDir, "checkpoints")).Latest
            ?? throw UnsupException.ForFile(runDir, "run has no checkpoint yet (checkpoints/ is empty): train at least one epoch first");
    }

    /// <summary>Every tensor in the file under its full name, and a description of the format.</summary>
    public static (Dictionary<string, Tensor> Tensors, string Format) ReadTensors(string file)
    {
        if (!File.Exists(file)) throw UnsupException.ForFile(file, "weights file not found");
        var head = new byte[8];
        int n;
        using (var fs = File.OpenRead(file)) n = fs.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        if (n == 0) throw UnsupException.ForFile(file, "weights file is empty");
        if (n == 8 && Encoding.ASCII.GetString(head) == "UNSUPCK1") return (ReadUnsupCheckpoint(file), "unsup checkpoint");
        if (n >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04) return ReadTorchZip(file);
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw UnsupException.ForFile(file, "is a PyTorch file in the legacy (pre-1.6) torch.save format, which cannot be read here; " +
                "re-save it in the zip format with PyTorch >= 1.6: python -c \"import torch; torch.save(torch.load('IN', map_location='cpu'), 'OUT')\"");
        throw UnsupException.ForFile(file, "is neither an Unsup checkpoint nor a PyTorch torch.save file (unknown leading bytes)");
    }

    static Dictionary<string, Tensor> ReadUnsupCheckpoint(string file)
    {
        using var data = Checkpoint.Read(file);
        if (!data.Modules.TryGetValue("moco", out var sd))
        {
            if (data.Modules.Count != 1)
                throw UnsupException.ForFile(file, $"checkpoint holds no MoCo model (modules: {string.Join(", ", data.Modules.Keys)})");
            sd = data.Modules.Values.Single();
        }
        // CheckpointData disposes its tensors: keep clones
        return sd.ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
    }

    static (Dictionary<string, Tensor>, string) ReadTorchZip(string file)
    {
        Hashtable table;
        Unsup.IO.TorchPickleCheck.ThrowIfLying(file);
        try
        {
            using var stream = File.OpenRead(file);
            table = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not UnsupException)
        {
            throw UnsupException.ForFile(file, $"is not a readable torch.save file (truncated or corrupt, or not a dict of tensors): {e.Message}", e);
        }
        var format = "torchvision state_dict";
        if (table["state_dict"] is Hashtable nested)
        {
            format = "moco checkpoint (torch.save)" + (table["arch"] is string arch ? $", arch {arch}" : "") + (table["epoch"] is int epoch ? $", epoch {epoch}" : "");
            DisposeTensors(table, except: nested);
            table = nested;
        }
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry e in table)
        {
            if (e.Key is string key && e.Value is Tensor t) result[key] = t;
        }
        if (result.Count == 0)
            throw UnsupException.ForFile(file, $"holds no tensors under names (top-level entries: {string.Join(", ", table.Keys.Cast<object>().Take(8))})");
        return (result, format);
    }

    static void DisposeTensors(object? o, Hashtable except)
    {
        switch (o)
        {
            case Tensor t: t.Dispose(); break;
            case Hashtable h when !ReferenceEquals(h, except): foreach (DictionaryEntry e in h) DisposeTensors(e.Value, except); break;
            case IEnumerable list and not string and not Hashtable: foreach (var x in list) DisposeTensors(x, except); break;
        }
    }

    static PretrainedEncoder Build(string file, Dictionary<string, Tensor> all, string format, ResNetOptions? expected)
    {
        var (backbone, head, ignored) = Select(all);
        if (backbone.Count == 0)
            throw UnsupException.ForFile(file, $"holds no ResNet weights (no conv1/layer1..4 tensors; its keys begin with: {Sample(all.Keys)}) - is it a checkpoint of another model?");
        // weights of another kind of model fail with "no ResNet" even when an architecture is expected, not with a key list
        if (!backbone.ContainsKey("conv1.weight"))
            throw UnsupException.ForFile(file, $"holds no ResNet: no 'conv1.weight' (its backbone keys begin with: {Sample(backbone.Keys)})");
        var options = expected ?? InferOptions(file, backbone);

        var model = new ResNet(options with { NumClasses = 0 });
        try
        {
            CopyStrict(file, model, backbone, options);
            var headModule = head.Count == 0 ? null : BuildHead(file, head, options.FeatureDim);
            model.eval();
            headModule?.eval();
            return new PretrainedEncoder(model, headModule, file, format, ignored);
        }
        catch { model.Dispose(); throw; }
    }

    /// <summary>Backbone tensors (prefix stripped), MoCo head tensors (fc. stripped; empty for a plain torchvision file), ignored names.</summary>
    static (Dictionary<string, Tensor> backbone, Dictionary<string, Tensor> head, List<string> ignored) Select(Dictionary<string, Tensor> all)
    {
        string Strip(string k) => k.StartsWith("module.", StringComparison.Ordinal) ? k["module.".Length..] : k;
        var keys = all.Keys.ToDictionary(k => k, Strip);
        bool moco = keys.Values.Any(k => k.StartsWith(Query, StringComparison.Ordinal));
        var backbone = new Dictionary<string, Tensor>();
        var head = new Dictionary<string, Tensor>();
        var ignored = new List<string>();
        foreach (var (full, stripped) in keys)
        {
            string k = stripped;
            if (moco)
            {
                if (!k.StartsWith(Query, StringComparison.Ordinal)) { ignored.Add(full); continue; }
                k = k[Query.Length..];
            }
            if (k.StartsWith("fc.", StringComparison.Ordinal))
            {
                if (moco) head[k["fc.".Length..]] = all[full];
                else ignored.Add(full);    // a torchvision classifier, not a projection head
            }
            else backbone[k] = all[full];
        }
        ignored.Sort(StringComparer.Ordinal);
        return (backbone, head, ignored);
    }

    /// <summary>Depth, width, input channels and stem as the tensors show them (a stem's stride is not in the tensors:
    /// 1 here; a run folder's config.json gives it).</summary>
    public static ResNetOptions InferOptions(string file, IReadOnlyDictionary<string, Tensor> backbone)
    {
        if (!backbone.TryGetValue("conv1.weight", out var conv1) || conv1.dim() != 4)
            throw UnsupException.ForFile(file, $"holds no ResNet: no 4-d 'conv1.weight' (its backbone keys begin with: {Sample(backbone.Keys)})");
        bool bottleneck = backbone.ContainsKey("layer1.0.conv3.weight");
        var blocks = new int[4];
        for (int l = 0; l < 4; l++)
        {
            string prefix = $"layer{l + 1}.";
            blocks[l] = backbone.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
                .Select(k => k[prefix.Length..].Split('.')[0]).Distinct().Count();
        }
        int depth = (bottleneck, string.Join(",", blocks)) switch
        {
            (false, "2,2,2,2") => 18,
            (false, "3,4,6,3") => 34,
            (true, "3,4,6,3") => 50,
            _ => throw UnsupException.ForFile(file, $"holds a ResNet with [{string.Join(", ", blocks)}] {(bottleneck ? "bottleneck" : "basic")} blocks per layer, which is not resnet18, resnet34 or resnet50"),
        };
        long k = conv1.shape[2];
        if (k is not (3 or 7))
            throw UnsupException.ForFile(file, $"'conv1.weight' has shape {Shape(conv1.shape)}: a {k}x{k} stem is neither torchvision's 7x7 nor the CIFAR 3x3");
        return new ResNetOptions(depth, (int)conv1.shape[0], (int)conv1.shape[1], CifarStem: k == 3);
    }

    /// <summary>Copies a state_dict into the model; every key must match by name and shape (BN's num_batches_tracked may be absent).</summary>
    static void CopyStrict(string file, nn.Module model, IReadOnlyDictionary<string, Tensor> sd, ResNetOptions options)
    {
        var own = model.state_dict();
        string arch = $"resnet{options.Depth} (width {options.Width}, {options.InChannels}-channel input, {options.StemName} stem)";
        var mismatch = own.Where(kv => sd.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape)).Select(kv => kv.Key).ToList();
        if (mismatch.Count > 0)
        {
            string first = mismatch[0];
            throw UnsupException.ForFile(file, $"weights do not fit a {arch}: '{first}' has shape {Shape(sd[first].shape)} in the file but {Shape(own[first].shape)} in the model" +
                (mismatch.Count > 1 ? $" ({mismatch.Count - 1} more keys differ)" : ""));
        }
        var missing = own.Keys.Where(k => !sd.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        var unexpected = sd.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw UnsupException.ForFile(file, $"weights do not fit a {arch}: " + string.Join("; ",
                new[] { missing.Count > 0 ? $"missing keys: {Names(missing)}" : null, unexpected.Count > 0 ? $"unexpected keys: {Names(unexpected)}" : null }.OfType<string>()));
        using var _ = no_grad();
        foreach (var (key, t) in own)
            if (sd.TryGetValue(key, out var src)) t.copy_(src.to(t.dtype));
    }

    /// <summary>The MoCo head: v1 Linear(d, dim) (<c>fc.weight/bias</c>) or v2 MLP (<c>fc.0.*</c>, <c>fc.2.*</c>).</summary>
    static nn.Module<Tensor, Tensor> BuildHead(string file, Dictionary<string, Tensor> head, int featureDim)
    {
        nn.Module<Tensor, Tensor> module;
        if (head.TryGetValue("weight", out var w))
            module = nn.Linear(w.shape[1], w.shape[0]);
        else if (head.TryGetValue("0.weight", out var w0) && head.TryGetValue("2.weight", out var w2))
            module = nn.Sequential(nn.Linear(w0.shape[1], w0.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]));
        else
            throw UnsupException.ForFile(file, $"projection head has unexpected keys {Names(head.Keys.Select(k => "fc." + k).ToList())} (expected fc.weight/bias or fc.0/fc.2)");
        try
        {
            long inDim = head.TryGetValue("weight", out var lw) ? lw.shape[1] : head["0.weight"].shape[1];
            if (inDim != featureDim)
                throw UnsupException.ForFile(file, $"projection head takes {inDim} features but the backbone gives {featureDim}");
            CopyHead(file, module, head);
            return module;
        }
        catch { module.Dispose(); throw; }
    }

    static void CopyHead(string file, nn.Module module, Dictionary<string, Tensor> head)
    {
        var own = module.state_dict();
        foreach (var (k, t) in own)
        {
            if (!head.TryGetValue(k, out var src)) throw UnsupException.ForFile(file, $"projection head misses 'fc.{k}'");
            if (!src.shape.SequenceEqual(t.shape))
                throw UnsupException.ForFile(file, $"'fc.{k}' has shape {Shape(src.shape)} in the file but {Shape(t.shape)} in the head");
        }
        var extra = head.Keys.Except(own.Keys).ToList();
        if (extra.Count > 0) throw UnsupException.ForFile(file, $"projection head has unexpected keys {Names(extra.Select(k => "fc." + k).ToList())}");
        using var _ = no_grad();
        foreach (var (k, t) in own) t.copy_(head[k].to(t.dtype));
    }

    /// <summary>
    /// Writes the backbone as a torchvision ResNet state_dict (no fc) in PyTorch's zip format, atomically. In Python:
    /// <c>m = torchvision.models.resnet18(); m.fc = torch.nn.Identity(); m.load_state_dict(torch.load(p), strict=True)</c>
    /// (for a CIFAR stem also replace <c>m.conv1</c> by a 3x3 conv of the run's stem stride and <c>m.maxpool</c> by Identity).
    /// </summary>
    public static void ExportTorchvision(ResNet backbone, string path)
    {
        using var scope = NewDisposeScope();
        var table = new Hashtable();
        foreach (var (k, t) in backbone.state_dict())
            if (!k.StartsWith("fc.", StringComparison.Ordinal)) table[k] = t.detach().cpu().contiguous();
        Unsup.IO.AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, table, leaveOpen: true));
    }

    /// <summary>The Python lines that load an exported backbone.</summary>
    public static string PythonSnippet(ResNetOptions o, string path) =>
        $"import torch, torchvision\nm = torchvision.models.resnet{o.Depth}()\nm.fc = torch.nn.Identity()\n" +
        (o.InChannels != 3 || o.CifarStem
            ? $"m.conv1 = torch.nn.Conv2d({o.InChannels}, {o.Width}, {(o.CifarStem ? $"3, {o.StemStride}, 1" : "7, 2, 3")}, bias=False)\n" : "") +
        (o.CifarStem ? "m.maxpool = torch.nn.Identity()\n" : "") +
        (o.Width != 64 ? $"# width {o.Width}: torchvision's ResNet has a fixed width of 64; build the same network with inplanes={o.Width}\n" : "") +
        $"m.load_state_dict(torch.load(r\"{path}\"), strict=True)";

    static string Shape(long[] s) => "[" + string.Join(", ", s) + "]";
    static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(12).Select(n => $"'{n}'")) + (names.Count > 12 ? $" and {names.Count - 12} more" : "");
    static string Sample(IEnumerable<string> keys) { var l = keys.Take(5).ToList(); return l.Count == 0 ? "(none)" : string.Join(", ", l); }
}
