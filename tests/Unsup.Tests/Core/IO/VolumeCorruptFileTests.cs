using System.IO.Compression;
using Unsup.IO;
using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.IO;

/// <summary>Damaged gzip streams (CRC, body) and truncated MGZ files are reported as one error naming the file.</summary>
public class VolumeCorruptFileTests
{
    static string Error(string path)
    {
        var e = Assert.Throws<UnsupException>(() => { using var _ = VolumeFile.Read(path); });
        Assert.StartsWith(path + ": ", e.Message);
        return e.Message;
    }

    static string Written(TempDir tmp, string name)
    {
        var path = tmp.File(name);
        using var img = NiftiImage.Create(arange(4000, ScalarType.Float32).reshape(20, 10, 20) * 0.5f, FormatTestUtil.Oblique());
        VolumeFile.Write(path, img);
        return path;
    }

    [Theory]
    [InlineData("a.nii.gz")]
    [InlineData("a.mgz")]
    public void FlippedCrcByte_IsReportedAsCorrupt(string name)
    {
        using var tmp = TestData.Temp();
        var path = Written(tmp, name);
        using (var ok = VolumeFile.Read(path)) Assert.Equal(4000, ok.Data.numel()); // intact: reads
        var b = File.ReadAllBytes(path);
        b[^8] ^= 0x01; // the gzip trailer: CRC-32 (4 bytes) then length (4 bytes)
        File.WriteAllBytes(path, b);
        Assert.Contains("corrupt", Error(path));
    }

    [Theory]
    [InlineData("b.nii.gz")]
    [InlineData("b.mgz")]
    public void FlippedBodyByte_IsReportedAsCorrupt(string name)
    {
        using var tmp = TestData.Temp();
        var path = Written(tmp, name);
        var b = File.ReadAllBytes(path);
        b[b.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, b);
        Assert.Contains("corrupt", Error(path));
    }

    [Fact]
    public void TruncatedMgzVoxels_SayExpectedAndFound()
    {
        using var tmp = TestData.Temp();
        var full = tmp.File("full.mgh");
        using (var img = NiftiImage.Create(arange(24, ScalarType.Int16).reshape(4, 3, 2)))
            VolumeFile.Write(full, img);
        var raw = File.ReadAllBytes(full);
        Assert.Equal(284 + 48 + 20, raw.Length); // header, voxels, footer
        var path = tmp.File("cut.mgz");
        using (var fs = File.Create(path))
        using (var gz = new GZipStream(fs, CompressionLevel.Fastest))
            gz.Write(raw.AsSpan(0, 284 + 30));
        Assert.Contains("truncated: expected 48 bytes of MGH voxel data, found 30", Error(path));
    }

    [Fact]
    public void TruncatedMgzFile_IsReportedWithItsName()
    {
        using var tmp = TestData.Temp();
        var path = Written(tmp, "c.mgz");
        var b = File.ReadAllBytes(path);
        File.WriteAllBytes(path, b[..(b.Length / 2)]);
        var msg = Error(path);
        Assert.True(msg.Contains("truncated") || msg.Contains("corrupt"), msg);
    }

    [Fact]
    public void TruncatedMghHeader_SaysSo()
    {
        using var tmp = TestData.Temp();
        var path = Written(tmp, "h.mgh");
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..100]);
        Assert.Contains("truncated MGH header: 100 bytes", Error(path));
    }

    [Fact]
    public void UnsupportedMghType_IsNamed()
    {
        using var tmp = TestData.Temp();
        var path = Written(tmp, "t.mgh");
        var b = File.ReadAllBytes(path);
        b[23] = 2; // type LONG
        File.WriteAllBytes(path, b);
        Assert.Contains("unsupported MGH data type long", Error(path));
    }

    [Fact]
    public void MgzNameWithoutGzipContent_IsNotGzip()
    {
        using var tmp = TestData.Temp();
        var mgh = Written(tmp, "plain.mgh");
        var path = tmp.File("plain.mgz");
        File.Copy(mgh, path);
        Assert.Contains("not a gzip file", Error(path));
    }
}
