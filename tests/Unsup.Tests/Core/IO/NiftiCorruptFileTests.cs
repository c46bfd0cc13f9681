using System.IO.Compression;
using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.IO;

public class NiftiCorruptFileTests
{
    static string Error(string path)
    {
        var e = Assert.Throws<UnsupException>(() => { using var _ = NiftiReader.Read(path); });
        Assert.StartsWith(path + ": ", e.Message);
        return e.Message;
    }

    /// <summary>An uncompressed 4x3x2 int16 image (48 bytes of voxels after the 352-byte prefix).</summary>
    static byte[] SmallNii(Action<NiftiHeader>? edit = null)
    {
        using var tmp = TestData.Temp();
        using var img = NiftiImage.Create(arange(24, ScalarType.Int16).reshape(4, 3, 2));
        edit?.Invoke(img.Header);
        var bytes = img.Header.Serialize();
        NiftiWriter.Write(tmp.File("a.nii"), img);
        var file = File.ReadAllBytes(tmp.File("a.nii"));
        if (edit != null) Array.Copy(bytes, 0, file, 0, NiftiHeader.Size); // keep the edited header verbatim
        return file;
    }

    [Fact]
    public void MissingFile_SaysNotFound()
    {
        using var tmp = TestData.Temp();
        Assert.Contains("file not found", Error(tmp.File("nope.nii.gz")));
    }

    [Fact]
    public void GarbageBytes_AreNotANiftiFile()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("garbage.nii");
        File.WriteAllBytes(p, Enumerable.Range(0, 1000).Select(i => (byte)(i * 37 + 11)).ToArray());
        Assert.Contains("not a NIfTI-1, NIfTI-2 or MGH volume", Error(p));
    }

    [Fact]
    public void GarbageNamedGz_IsNotGzip()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("garbage.nii.gz");
        File.WriteAllBytes(p, Enumerable.Range(0, 1000).Select(i => (byte)(i * 37 + 11)).ToArray());
        Assert.Contains("not a gzip file", Error(p));
    }

    [Fact]
    public void TruncatedGzip_IsReported()
    {
        using var tmp = TestData.Temp();
        var src = File.ReadAllBytes(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        var p = tmp.File("cut.nii.gz");
        File.WriteAllBytes(p, src[..(src.Length / 2)]);
        var msg = Error(p);
        Assert.True(msg.Contains("bad gzip stream") || msg.Contains("expected 122880 bytes of voxel data"), msg);
    }

    [Fact]
    public void CorruptGzipBody_IsBadGzipStream()
    {
        using var tmp = TestData.Temp();
        var src = File.ReadAllBytes(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        for (int i = 100; i < 400; i++) src[i] ^= 0x5A;
        var p = tmp.File("bad.nii.gz");
        File.WriteAllBytes(p, src);
        Assert.Contains("bad gzip stream", Error(p));
    }

    [Fact]
    public void TruncatedHeader_SaysSo()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("h.nii");
        File.WriteAllBytes(p, SmallNii()[..200]);
        Assert.Contains("truncated NIfTI header: 200 bytes", Error(p));
    }

    [Fact]
    public void TruncatedData_SaysExpectedAndFound()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("d.nii");
        File.WriteAllBytes(p, SmallNii()[..(352 + 30)]);
        Assert.Contains("expected 48 bytes of voxel data, found 30", Error(p));
    }

    [Fact]
    public void TruncatedData_InsideGzip_SaysExpectedAndFound()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("d.nii.gz");
        using (var fs = File.Create(p))
        using (var gz = new GZipStream(fs, CompressionLevel.Fastest))
            gz.Write(SmallNii()[..(352 + 10)]);
        Assert.Contains("expected 48 bytes of voxel data, found 10", Error(p));
    }

    [Fact]
    public void WrongMagic_IsNotNifti1()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("m.nii");
        File.WriteAllBytes(p, SmallNii(h => h.Magic = "xyz"));
        Assert.Contains("not a NIfTI-1 file", Error(p));
    }

    [Fact]
    public void UnsupportedDatatype_IsNamed()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("rgb.nii");
        File.WriteAllBytes(p, SmallNii(h => { h.Datatype = NiftiDatatype.Rgb24; h.Bitpix = 24; }));
        Assert.Contains("unsupported NIfTI datatype RGB24", Error(p));
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(9, 3)]
    [InlineData(2, 0)]
    [InlineData(2, -4)]
    public void InvalidDims_AreRejected(short ndim, short dim2)
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("dims.nii");
        File.WriteAllBytes(p, SmallNii(h => { h.Dim[0] = ndim; h.Dim[2] = dim2; }));
        Assert.Contains("invalid NIfTI dimensions", Error(p));
    }

    [Fact]
    public void Nifti2_IsNamed()
    {
        using var tmp = TestData.Temp();
        var p = tmp.File("n2.nii");
        var b = new byte[600];
        BitConverter.GetBytes(540).CopyTo(b, 0);
        File.WriteAllBytes(p, b);
        Assert.Contains("NIfTI-2", Error(p));
    }
}
