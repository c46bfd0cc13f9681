using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration;

/// <summary>
/// Throw-away reader for the little-endian float32 C-order .npy files our python references write;
/// to be replaced by the project's real npy reader.
/// </summary>
internal static class TestNpy
{
    public static Tensor ReadFloat32(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10 && bytes[0] == 0x93 && Encoding.ASCII.GetString(bytes, 1, 5) == "NUMPY", $"{path}: not an .npy file");
        int major = bytes[6];
        int headerLen = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int offset = major == 1 ? 10 : 12;
        var header = Encoding.ASCII.GetString(bytes, offset, headerLen);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var shapeText = Regex.Match(header, @"'shape': \(([^)]*)\)").Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        int start = offset + headerLen;
        var data = new float[(bytes.Length - start) / 4];
        Buffer.BlockCopy(bytes, start, data, 0, data.Length * 4);
        Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), data.LongLength);
        return tensor(data, shape);
    }
}
