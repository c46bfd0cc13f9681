using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.Fuzzing.Fuzzer;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>Fuzzes NumPy .npy and .npz (stored and deflated) readers.</summary>
public class ArrayFuzzTests
{
    static byte[] Npy(Tensor t)
    {
        using var ms = new MemoryStream();
        NpyWriter.Write(ms, t);
        return ms.ToArray();
    }

    static byte[] ValidNpy()
    {
        using var scope = NewDisposeScope();
        return Npy(arange(24, ScalarType.Float32).reshape(2, 3, 4));
    }

    static List<Func<byte[], Random, (byte[], string)>> NpyFields() =>
    [
        Text("(2, 3, 4)", "(1000000, 1000000, 1000000)", "(-1, 3, 4)", "(99999999999999999999,)", "(4611686018427387904, 4)",
            "(2, 3, 5)", "(2, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)", "()", "(,)", "(0, 3)", "(2 3 4)"),
        Text("'<f4'", "'<f8'", "'>f4'", "'|u1'", "'<c8'", "'|O'", "'<U3'", "'<f2'", "'[('a', '<f4')]'", "'f'", "''", "'<i8'"),
        Text("False", "True", "Maybe"),
        IntField("header length", 8, 2, false),
        IntField("version", 6, 1, false),
    ];

    [Fact]
    public void NpyFile() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "npy", Seed = ValidNpy(), Extension = ".npy", Targeted = NpyFields(),
        Read = path => { NpyReader.ReadHeader(path); using var t = NpyReader.Read(path); },
    });

    [Fact]
    public void NpzStored() => VolumeFuzzTests.Run(Npz("npz-stored", deflate: false));

    [Fact]
    public void NpzDeflated() => VolumeFuzzTests.Run(Npz("npz-deflated", deflate: true));

    static Fuzzer Npz(string reader, bool deflate)
    {
        byte[] other;
        using (NewDisposeScope()) other = Npy(tensor(new long[] { 1, 2, 3 }));
        return new Fuzzer
        {
            Reader = reader, Seed = ValidNpy(), Extension = ".npz", Targeted = NpyFields(),
            Encode = FuzzEncodings.Zip("vol.npy", deflate, ("labels.npy", other)), Allowance = deflate ? 1100 * 4 : 8,
            Read = path =>
            {
                NpzReader.Keys(path);
                NpzReader.Headers(path);
                foreach (var t in NpzReader.ReadAll(path).Values) t.Dispose();
            },
        };
    }
}
