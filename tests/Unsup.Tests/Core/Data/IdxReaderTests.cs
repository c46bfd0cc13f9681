using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using Unsup.Data;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.Data;

public class IdxReaderTests
{
    static byte[] Idx(byte type, int[] dims, byte[] data)
    {
        var ms = new MemoryStream();
        ms.Write([0, 0, type, (byte)dims.Length]);
        var b = new byte[4];
        foreach (var d in dims) { BinaryPrimitives.WriteInt32BigEndian(b, d); ms.Write(b); }
        ms.Write(data);
        return ms.ToArray();
    }

    static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsUint8ImagesPlainOrGzip(bool gzip)
    {
        using var dir = TestData.Temp();
        var pixels = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 10)).ToArray();
        var raw = Idx(0x08, [2, 3, 4], pixels);
        var path = dir.File("x.idx"); // no .gz suffix even when gzipped: detection is by magic
        File.WriteAllBytes(path, gzip ? Gzip(raw) : raw);

        using var t = IdxReader.Read(path);
        Assert.Equal(ScalarType.Byte, t.dtype);
        Assert.Equal(new long[] { 2, 3, 4 }, t.shape);
        Assert.Equal(pixels, t.data<byte>().ToArray());
        Assert.Equal(90, t[0, 2, 1].item<byte>()); // row-major: index 9
    }

    [Fact]
    public void ReadsBigEndianMultiByteTypes()
    {
        using var dir = TestData.Temp();
        var i32 = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(i32, -7);
        BinaryPrimitives.WriteInt32BigEndian(i32.AsSpan(4), 123456789);
        File.WriteAllBytes(dir.File("i"), Idx(0x0C, [2], i32));
        using (var t = IdxReader.Read(dir.File("i")))
        {
            Assert.Equal(ScalarType.Int32, t.dtype);
            Assert.Equal(new[] { -7, 123456789 }, t.data<int>().ToArray());
        }

        var f32 = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(f32, 1.5f);
        BinaryPrimitives.WriteSingleBigEndian(f32.AsSpan(4), -3.25f);
        File.WriteAllBytes(dir.File("f"), Idx(0x0D, [1, 2], f32));
        using (var t = IdxReader.Read(dir.File("f")))
        {
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(new[] { 1.5f, -3.25f }, t.data<float>().ToArray());
        }

        var f64 = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(f64, Math.PI);
        File.WriteAllBytes(dir.File("d"), Idx(0x0E, [1], f64));
        using (var t = IdxReader.Read(dir.File("d"))) Assert.Equal(Math.PI, t.item<double>());

        var i16 = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(i16, -300);
        BinaryPrimitives.WriteInt16BigEndian(i16.AsSpan(2), 1000);
        File.WriteAllBytes(dir.File("s"), Idx(0x0B, [2], i16));
        using (var t = IdxReader.Read(dir.File("s"))) Assert.Equal(new short[] { -300, 1000 }, t.data<short>().ToArray());

        File.WriteAllBytes(dir.File("b"), Idx(0x09, [2], [0xFF, 0x05]));
        using (var t = IdxReader.Read(dir.File("b"))) Assert.Equal(new sbyte[] { -1, 5 }, t.data<sbyte>().ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataNamesFileAndByteCounts(bool gzip)
    {
        using var dir = TestData.Temp();
        var raw = Idx(0x08, [10, 28, 28], new byte[10 * 784 - 5]);
        var path = dir.File("images.idx3");
        File.WriteAllBytes(path, gzip ? Gzip(raw) : raw);
        var e = Assert.Throws<UnsupException>(() => IdxReader.Read(path));
        Assert.Equal($"{path}: truncated: expected 7840 bytes of data, found 7835", e.Message);
    }

    [Fact]
    public void RejectsBadMagicTypeCodeAndShortHeader()
    {
        using var dir = TestData.Temp();
        File.WriteAllBytes(dir.File("magic"), [1, 2, 8, 1, 0, 0, 0, 1, 0]);
        Assert.Contains("not an IDX file", Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("magic"))).Message);
        File.WriteAllBytes(dir.File("type"), Idx(0x0A, [1], [0]));
        Assert.Contains("unknown IDX data type code 0x0a", Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("type"))).Message);
        File.WriteAllBytes(dir.File("dims"), [0, 0, 8, 3, 0, 0, 0, 2]);
        Assert.Contains("truncated", Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("dims"))).Message);
        File.WriteAllBytes(dir.File("extra"), Idx(0x08, [2], [1, 2, 3]));
        Assert.Contains("unexpected bytes after", Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("extra"))).Message);
        var corrupt = Gzip(Idx(0x08, [100], new byte[100]));
        corrupt[12] ^= 0xFF; corrupt[13] ^= 0xFF;
        File.WriteAllBytes(dir.File("corrupt.gz"), corrupt);
        var e = Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("corrupt.gz")));
        Assert.StartsWith(dir.File("corrupt.gz") + ":", e.Message);
        var missing = Assert.Throws<UnsupException>(() => IdxReader.Read(dir.File("nope")));
        Assert.Equal($"{dir.File("nope")}: file not found", missing.Message);
    }

    [Fact]
    public void FashionMnistSyntheticFolderChecksCountsAndLabels()
    {
        using var dir = TestData.Temp();
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte"), Idx(0x08, [3, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), Gzip(Idx(0x08, [3], [9, 0, 4])));
        using var ds = FashionMnist.Load(dir.Path, train: false);
        Assert.Equal(new long[] { 3, 1, 2, 2 }, ds.Images.shape);
        Assert.Equal(new long[] { 9, 0, 4 }, ds.Labels);
        Assert.Equal("Ankle boot", ds.ClassNames[ds.Labels![0]]);
        Assert.Equal(7, ds.Images[1, 0, 1, 1].item<byte>());
        Assert.Equal("t10k-images-idx3-ubyte[2]", ds.Sources![2]);

        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), Gzip(Idx(0x08, [2], [9, 0])));
        var e = Assert.Throws<UnsupException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains("2 labels but", e.Message);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), Gzip(Idx(0x08, [3], [9, 10, 0])));
        Assert.Contains("label 10 at index 1", Assert.Throws<UnsupException>(() => FashionMnist.Load(dir.Path, train: false)).Message);
        Assert.Contains("missing train-images-idx3-ubyte.gz", Assert.Throws<UnsupException>(() => FashionMnist.Load(dir.Path, train: true)).Message);
    }

    const string SystemFashion = "/usr/share/datasets/fashion-mnist";

    [SkippableFact]
    public void RealFashionMnistTrainAndTest()
    {
        Prerequisite.Require(File.Exists(Path.Combine(SystemFashion, "train-images-idx3-ubyte.gz")), "Debian's dataset-fashion-mnist not installed");
        using (var train = FashionMnist.Load(SystemFashion, train: true))
        {
            Assert.Equal(new long[] { 60000, 1, 28, 28 }, train.Images.shape);
            Assert.Equal(10, train.ClassCount);
            // the published training set is balanced: 6,000 images per class
            Assert.All(train.Labels!.GroupBy(l => l), g => Assert.Equal(6000, g.Count()));
            Assert.Equal(9, train.Labels![0]); // the first training image is an ankle boot
        }
        using var test = FashionMnist.Load(SystemFashion, train: false);
        Assert.Equal(10000, test.Count);
        Assert.All(test.Labels!.GroupBy(l => l), g => Assert.Equal(1000, g.Count()));
    }

    [SkippableFact]
    public void RealFashionMnistMatchesNumpy()
    {
        Prerequisite.Require(File.Exists(Path.Combine(SystemFashion, "t10k-images-idx3-ubyte.gz")), "Debian's dataset-fashion-mnist not installed");
        var py = TestData.Python($$"""
            import gzip, numpy as np
            a = np.frombuffer(gzip.open('{{SystemFashion}}/t10k-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
            print(int(a[0].sum()), int(a[123, 5:20, 3].astype(np.int64) @ np.arange(15)), int(a[:, 14, :].sum()))
            """, "numpy").Split(' ', StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        using var test = FashionMnist.Load(SystemFashion, train: false);
        using var img = test.Images.to_type(ScalarType.Int64);
        Assert.Equal(py[0], img[0].sum().item<long>());
        Assert.Equal(py[1], (img[123, 0, TensorIndex.Slice(5, 20), 3] * torch.arange(15, ScalarType.Int64)).sum().item<long>());
        Assert.Equal(py[2], img[TensorIndex.Colon, 0, 14, TensorIndex.Colon].sum().item<long>());
    }
}
