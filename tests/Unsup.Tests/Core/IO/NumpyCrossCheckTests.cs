using System.Globalization;
using TorchSharp;
using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

/// <summary>numpy itself writes and reads the files; values are compared through an order-sensitive checksum.</summary>
public class NumpyCrossCheckTests
{
    [SkippableFact]
    public void ArraysWrittenByNumpy_ReadIdentically()
    {
        using var tmp = TestData.Temp();
        var script = $@"
import numpy as np, os
d = '{tmp.Path}'
{PyChecksum}
rng = np.random.default_rng(1)
arrays = {{
  'c_f4': rng.normal(size=(3, 4, 5)).astype('<f4'),
  'f_f8': np.asfortranarray(rng.normal(size=(4, 3, 2))),
  'f_i2': np.asfortranarray(rng.integers(-3000, 3000, size=(5, 7)).astype('<i2')),
  'be_f4': rng.normal(size=(6, 2)).astype('>f4'),
  'be_i8': rng.integers(-10**12, 10**12, size=(9,)).astype('>i8'),
  'u1': rng.integers(0, 255, size=(2, 3, 4)).astype(np.uint8),
  'i1': rng.integers(-128, 127, size=(10,)).astype(np.int8),
  'b1': rng.integers(0, 2, size=(3, 3)).astype(bool),
  'i4': rng.integers(-10**9, 10**9, size=(2, 2, 2, 2)).astype('<i4'),
  'u2': rng.integers(0, 65535, size=(7,)).astype('<u2'),
  'scalar': np.array(2.75),
}}
for k, a in arrays.items():
    np.save(os.path.join(d, k + '.npy'), a)
    print(k, a.dtype.str, 'x'.join(map(str, a.shape)), repr(checksum(a)))
for v in [(2, 0), (3, 0)]:
    a = rng.normal(size=(4, 4)).astype('<f4')
    with open(os.path.join(d, 'v%d.npy' % v[0]), 'wb') as f:
        np.lib.format.write_array(f, a, version=v)
    print('v%d' % v[0], a.dtype.str, '4x4', repr(checksum(a)))
np.savez_compressed(os.path.join(d, 'z.npz'), a=np.asfortranarray(rng.normal(size=(5, 6))), b=np.arange(12, dtype=np.int64).reshape(3, 4))
np.savez(os.path.join(d, 'plain.npz'), only=np.arange(5, dtype=np.float32))
z = np.load(os.path.join(d, 'z.npz'))
print('z.a', z['a'].dtype.str, '5x6', repr(checksum(z['a'])))
print('z.b', z['b'].dtype.str, '3x4', repr(checksum(z['b'])))
";
        var lines = TestData.Python(script, "numpy").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToList();
        Assert.Equal(15, lines.Count);
        foreach (var p in lines)
        {
            string key = p[0];
            Tensor t = key.StartsWith("z.")
                ? NpzReader.Read(tmp.File("z.npz"), key[2..])
                : NpyReader.Read(tmp.File(key + ".npy"));
            using (t)
            {
                Assert.Equal(p[2] == "" ? "" : p[2], string.Join("x", t.shape));
                double expected = double.Parse(p[3], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(expected - Checksum(t)) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"{key}: checksum {Checksum(t)} != numpy {expected}");
            }
        }
        Assert.True(NpyReader.ReadHeader(tmp.File("f_f8.npy")).FortranOrder);
        Assert.Equal(2, NpyReader.ReadHeader(tmp.File("v2.npy")).MajorVersion);
        Assert.Equal(3, NpyReader.ReadHeader(tmp.File("v3.npy")).MajorVersion);
        using var only = NpzReader.Read(tmp.File("plain.npz"), "only");
        Assert.Equal(new float[] { 0, 1, 2, 3, 4 }, only.data<float>().ToArray());
    }

    [SkippableFact]
    public void ArraysWrittenByUnsup_ReadIdenticallyByNumpy()
    {
        using var tmp = TestData.Temp();
        var arrays = new Dictionary<string, Tensor>
        {
            ["f4"] = Positional([3, 4, 5], ScalarType.Float32),
            ["f8"] = Positional([6, 7], ScalarType.Float64),
            ["u1"] = Positional([2, 9], ScalarType.Byte),
            ["i4"] = Positional([4, 1, 3], ScalarType.Int32),
            ["i8"] = Positional([11], ScalarType.Int64),
            ["scalar"] = torch.tensor(-1.5),
        };
        foreach (var (k, t) in arrays) NpyWriter.Write(tmp.File(k + ".npy"), t);
        NpzWriter.Write(tmp.File("all.npz"), arrays);

        var script = $@"
import numpy as np, os
d = '{tmp.Path}'
{PyChecksum}
z = np.load(os.path.join(d, 'all.npz'))
for k in {'[' + string.Join(", ", arrays.Keys.Select(k => $"'{k}'")) + ']'}:
    a = np.load(os.path.join(d, k + '.npy'))
    assert np.array_equal(a, z[k]) and a.dtype == z[k].dtype
    print(k, a.dtype.name, 'x'.join(map(str, a.shape)), repr(checksum(a)))
";
        var lines = TestData.Python(script, "numpy").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0]);
        string[] names = ["float32", "float64", "uint8", "int32", "int64", "float64"];
        int i = 0;
        foreach (var (k, t) in arrays)
        {
            Assert.Equal(names[i++], lines[k][1]);
            Assert.Equal(string.Join("x", t.shape), lines[k][2]);
            Assert.Equal(Checksum(t), double.Parse(lines[k][3], CultureInfo.InvariantCulture), 9);
            t.Dispose();
        }
    }
}
