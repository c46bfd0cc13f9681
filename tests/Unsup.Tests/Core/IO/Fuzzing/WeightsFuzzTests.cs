using TorchSharp;
using Unsup.Moco.Weights;
using Unsup.Registration.Model;
using Unsup.Training;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.Fuzzing.Fuzzer;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>
/// Fuzzes the weight readers: Unsup checkpoints (<see cref="Checkpoint.Read"/>; most cases re-signed so the payload
/// parser sees the damage, not just the SHA-256 check) and PyTorch .pth state_dicts through
/// <see cref="SymNetWeights"/> and MoCo's <see cref="EncoderWeights"/> (the pickle and the tensor data entries
/// mutated inside a valid zip, or the zip itself).
/// </summary>
public class WeightsFuzzTests
{
    static byte[] ValidCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("unsup-fuzz-seed").FullName;
        try
        {
            using var scope = NewDisposeScope();
            manual_seed(1);
            var model = nn.Linear(3, 2);
            var state = new TrainingState { Step = 7, Epoch = 1 }.AddModule("net", model).AddTensor("queue", arange(6, ScalarType.Float32));
            state.Scalars["lr"] = 0.1;
            state.Strings["arch"] = "linear";
            var path = Path.Combine(dir, "c.ckpt");
            Checkpoint.Save(path, state);
            return File.ReadAllBytes(path);
        }
        finally { Directory.Delete(dir, true); }
    }

    static byte[] ValidSymNetPth()
    {
        var dir = Directory.CreateTempSubdirectory("unsup-fuzz-seed").FullName;
        try
        {
            using var scope = NewDisposeScope();
            using var model = new SymNet(2, 2);
            var path = Path.Combine(dir, "m.pth");
            SymNetWeights.Save(model, path);
            return File.ReadAllBytes(path);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UnsupCheckpoint()
    {
        var file = ValidCheckpoint();
        VolumeFuzzTests.Run(new Fuzzer
        {
            Reader = "checkpoint", Seed = FuzzEncodings.CheckpointPayload(file), Extension = ".ckpt", Encode = FuzzEncodings.SignCheckpoint,
            // step, epoch, and the counts/lengths that follow the two strings dictionaries
            Targeted = [IntField("step", 0, 8, false), IntField("string count", 16, 4, false), HugeDims("first ints", [16, 20, 24], 4, false)],
            Read = path => { using var d = Checkpoint.Read(path); },
        });
    }

    /// <summary>
    /// The .pth zip's entries, the one named <paramref name="entrySuffix"/> (the pickle or a tensor's data) taking
    /// the mutated bytes; the rest stay valid.
    /// </summary>
    static Fuzzer Pth(string reader, string entrySuffix, Action<string> read)
    {
        var entries = FuzzEncodings.Unzip(ValidSymNetPth());
        int k = entries.FindIndex(e => e.Name.EndsWith(entrySuffix, StringComparison.Ordinal));
        Assert.True(k >= 0, $"no zip entry ending in {entrySuffix}: {string.Join(", ", entries.Select(e => e.Name))}");
        var others = entries.Where((_, i) => i != k).ToArray();
        return new Fuzzer
        {
            Reader = reader, Seed = entries[k].Bytes, Extension = ".pth", Read = read,
            Encode = b => Reorder(FuzzEncodings.Zip(entries[k].Name, false, others)(b), entries.Select(e => e.Name).ToList()),
        };
    }

    /// <summary>Puts the entries back in the original order (torch.load expects the pickle's folder layout, not the order, but keep it faithful).</summary>
    static byte[] Reorder(byte[] zip, List<string> order)
    {
        var entries = FuzzEncodings.Unzip(zip).OrderBy(e => order.IndexOf(e.Name)).ToList();
        return FuzzEncodings.Zip(entries[0].Name, false, entries.Skip(1).ToArray())(entries[0].Bytes);
    }

    static void ReadSymNet(string path) { using var m = SymNetWeights.Create(path); }

    static void ReadEncoder(string path)
    {
        var (tensors, _) = EncoderWeights.ReadTensors(path);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void SymNetPthPickle() => VolumeFuzzTests.Run(Pth("pth-pickle-symnet", "data.pkl", ReadSymNet));

    [Fact]
    public void EncoderPthPickle() => VolumeFuzzTests.Run(Pth("pth-pickle-encoder", "data.pkl", ReadEncoder));

    [Fact]
    public void SymNetPthTensorData() => VolumeFuzzTests.Run(Pth("pth-data-symnet", "data/0", ReadSymNet));
}
