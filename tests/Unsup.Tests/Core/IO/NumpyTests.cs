using System.IO.Compression;
using System.Text;
using TorchSharp;
using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

public class NumpyTests
{
    [Fact]
    public void VoxelmorphScan_VolIsFloat64InUnitRange_SegIsALabelMap()
    {
        var path = TestData.Shared("brain/vxm_test_scan.npz");
        Assert.Equal(new[] { "vol", "seg" }, NpzReader.Keys(path));
        Assert.All(NpzReader.Headers(path), kh => { Assert.Equal("<f8", kh.Header.Descr); Assert.Equal(new long[] { 160, 192, 224 }, kh.Header.Shape); });
        using var vol = NpzReader.Read(path, "vol", out var h);
        Assert.Equal(new long[] { 160, 192, 224 }, vol.shape);
        Assert.Equal(ScalarType.Float64, vol.dtype);
        Assert.False(h.FortranOrder);
        Assert.Equal(0.0, vol.min().item<double>());
        Assert.Equal(0.9764705882352941, vol.max().item<double>(), 12);
        Assert.Equal(0.07962961462254177, vol.mean().item<double>(), 9);

        using var seg = NpzReader.Read(path, "seg");
        Assert.True(seg.eq(seg.round()).all().item<bool>());
        Assert.Equal(46, seg.unique().output.numel());
    }

    [Fact]
    public void VoxelmorphLabels_Are30Int64Ids()
    {
        using var labels = NpzReader.Read(TestData.Shared("brain/vxm_labels.npz"), "labels");
        Assert.Equal(ScalarType.Int64, labels.dtype);
        var ids = labels.data<long>().ToArray();
        Assert.Equal(30, ids.Length);
        Assert.Equal(new long[] { 2, 3, 4, 7, 8 }, ids[..5]);
        Assert.Equal(63, ids[^1]);
    }

    [Fact]
    public void SynthSegNpy_HaveTheirDtypesAndShapes()
    {
        using var labels = NpyReader.Read(TestData.Shared("synthseg/generation_labels.npy"));
        Assert.Equal(ScalarType.Int32, labels.dtype);
        Assert.Equal(new long[] { 54 }, labels.shape);
        Assert.Equal(new[] { 0, 14, 15, 16, 24, 72, 85, 502, 506, 507 }, labels.data<int>().ToArray()[..10]);
        using var classes = NpyReader.Read(TestData.Shared("synthseg/generation_classes.npy"));
        Assert.Equal(ScalarType.Int64, classes.dtype);
        Assert.Equal(new long[] { 54 }, classes.shape);
        using var means = NpyReader.Read(TestData.Shared("synthseg/prior_means_t1.npy"));
        Assert.Equal(ScalarType.Float64, means.dtype);
        Assert.Equal(new long[] { 2, 25 }, means.shape);
    }

    public static TheoryData<ScalarType> WriteDtypes() => new()
    {
        ScalarType.Float32, ScalarType.Float64, ScalarType.Byte, ScalarType.Int8, ScalarType.Int16, ScalarType.Int32, ScalarType.Int64, ScalarType.Bool,
    };

    [Theory]
    [MemberData(nameof(WriteDtypes))]
    public void Npy_RoundTripsEveryDtype(ScalarType dtype)
    {
        using var tmp = TestData.Temp();
        using var t = Positional([3, 4, 5], dtype);
        NpyWriter.Write(tmp.File("a.npy"), t);
        using var back = NpyReader.Read(tmp.File("a.npy"), out var h);
        AssertSame(t, back);
        Assert.Equal(NpyHeader.DescrFor(dtype), h.Descr);
        // numpy's layout: data starts on a 64-byte boundary
        Assert.Equal(0, (new FileInfo(tmp.File("a.npy")).Length - t.numel() * t.element_size()) % 64);
    }

    [Theory]
    [InlineData(new long[0])]
    [InlineData(new long[] { 7 })]
    [InlineData(new long[] { 0, 3 })]
    [InlineData(new long[] { 2, 1, 3, 1, 2 })]
    public void Npy_RoundTripsShapes_Including0D(long[] shape)
    {
        using var tmp = TestData.Temp();
        using var t = shape.Length == 0 ? torch.tensor(3.25) : Positional(shape, ScalarType.Float32);
        NpyWriter.Write(tmp.File("s.npy"), t);
        using var back = NpyReader.Read(tmp.File("s.npy"));
        AssertSame(t, back);
    }

    [Fact]
    public void Npz_WrittenAndRead_CompressedAndStored()
    {
        using var tmp = TestData.Temp();
        using var a = Positional([4, 5], ScalarType.Float32);
        using var b = Positional([6], ScalarType.Int64);
        foreach (bool compress in new[] { true, false })
        {
            var p = tmp.File($"x{compress}.npz");
            NpzWriter.Write(p, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, compress);
            var all = NpzReader.ReadAll(p);
            AssertSame(a, all["a"]);
            AssertSame(b, all["b"]);
            foreach (var t in all.Values) t.Dispose();
        }
    }

    [Fact]
    public void FortranOrder_GivesTheLogicalShape()
    {
        using var tmp = TestData.Temp();
        // numpy np.asfortranarray(np.arange(6).reshape(2, 3)) as '<i4': stored column by column
        var p = tmp.File("f.npy");
        WriteRaw(p, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", [0, 3, 1, 4, 2, 5]);
        using var t = NpyReader.Read(p);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5 }, t.data<int>().ToArray());
    }

    [Fact]
    public void BigEndianAndUnsigned_AreConverted()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("be.npy");
        var data = new byte[] { 0x00, 0x01, 0xFF, 0xFE }; // >u2: 1, 65534
        WriteRawBytes(p, "{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }", data);
        using var t = NpyReader.Read(p);
        Assert.Equal(ScalarType.Int32, t.dtype);
        Assert.Equal(new[] { 1, 65534 }, t.data<int>().ToArray());
    }

    [Fact]
    public void BadMagic_IsReported()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("x.npy");
        File.WriteAllText(p, "hello, this is not numpy");
        var e = Assert.Throws<UnsupException>(() => NpyReader.Read(p));
        Assert.Equal($"{p}: not a NumPy .npy file (missing the \\x93NUMPY magic)", e.Message);
    }

    [Fact]
    public void TruncatedData_SaysExpectedAndFound()
    {
        using var tmp = TestData.Temp();
        using var t = Positional([10, 10], ScalarType.Float64);
        NpyWriter.Write(tmp.File("t.npy"), t);
        var bytes = File.ReadAllBytes(tmp.File("t.npy"));
        File.WriteAllBytes(tmp.File("t.npy"), bytes[..(128 + 100)]);
        var e = Assert.Throws<UnsupException>(() => NpyReader.Read(tmp.File("t.npy")));
        Assert.Contains("truncated: expected 800 bytes of array data, found 100", e.Message);

        File.WriteAllBytes(tmp.File("t.npy"), bytes[..40]);
        e = Assert.Throws<UnsupException>(() => NpyReader.Read(tmp.File("t.npy")));
        Assert.Contains("truncated .npy header", e.Message);
    }

    [Fact]
    public void ObjectArrays_AreRefusedByName()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("o.npy");
        WriteRawBytes(p, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new byte[32]);
        var e = Assert.Throws<UnsupException>(() => NpyReader.Read(p));
        Assert.Contains("object arrays (dtype 'O'", e.Message);
    }

    [Fact]
    public void MissingNpzKey_ListsTheKeysPresent()
    {
        var path = TestData.Shared("brain/vxm_test_scan.npz");
        var e = Assert.Throws<UnsupException>(() => NpzReader.Read(path, "image"));
        Assert.Equal($"{path}: no array 'image' in this .npz (it has: vol, seg)", e.Message);
    }

    [Fact]
    public void NotAZip_AndTruncatedZip_AreReported()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("x.npz");
        File.WriteAllText(p, "PK but not really a zip file at all");
        Assert.Contains("not a valid .npz (zip) file", Assert.Throws<UnsupException>(() => NpzReader.Keys(p)).Message);

        var src = File.ReadAllBytes(TestData.Shared("brain/vxm_labels.npz"));
        File.WriteAllBytes(p, src[..(src.Length - 30)]);
        var e = Assert.Throws<UnsupException>(() => NpzReader.Read(p, "labels"));
        Assert.StartsWith(p, e.Message);
    }

    [Fact]
    public void CorruptDeflateEntry_IsReported()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("c.npz");
        using (var a = Positional([50, 50], ScalarType.Float64))
            NpzWriter.Write(p, new Dictionary<string, Tensor> { ["a"] = a });
        var bytes = File.ReadAllBytes(p);
        for (int i = 60; i < 300; i++) bytes[i] ^= 0x33;
        File.WriteAllBytes(p, bytes);
        var e = Assert.Throws<UnsupException>(() => NpzReader.Read(p, "a"));
        Assert.StartsWith(p, e.Message);
    }

    static void WriteRaw(string path, string dict, int[] values)
        => WriteRawBytes(path, dict, values.SelectMany(BitConverter.GetBytes).ToArray());

    static void WriteRawBytes(string path, string dict, byte[] data)
    {
        var header = dict.PadRight(64 - 10 - 1) + "\n";
        using var fs = File.Create(path);
        fs.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
        fs.Write(Encoding.ASCII.GetBytes(header));
        fs.Write(data);
    }
}
