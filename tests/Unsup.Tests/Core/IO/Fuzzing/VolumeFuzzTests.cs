using Unsup.IO;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.Fuzzing.Fuzzer;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>Fuzzes NIfTI-1, NIfTI-2 and MGH through <see cref="VolumeFile"/>, plain and gzip-compressed.</summary>
public class VolumeFuzzTests
{
    static byte[] ValidVolume(string ext, VolumeFormat format, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("unsup-fuzz-seed").FullName;
        try
        {
            var path = Path.Combine(dir, "v" + ext);
            var data = (arange(6 * 5 * 4).reshape(6, 5, 4) % 17).to_type(dtype);
            var h = new Unsup.IO.Nifti.NiftiHeader();
            h.Pixdim[1] = 2; h.Pixdim[2] = 2; h.Pixdim[3] = 2;
            VolumeFile.Write(path, data, h, format);
            return File.ReadAllBytes(path);
        }
        finally { Directory.Delete(dir, true); }
    }

    static void ReadVolume(string path)
    {
        VolumeFile.Kind(path);
        VolumeFile.ReadHeader(path);
        using var image = VolumeFile.Read(path);
    }

    static List<Func<byte[], Random, (byte[], string)>> Nifti1Fields() =>
    [
        IntField("sizeof_hdr", 0, 4, false),
        .. Enumerable.Range(0, 8).Select(i => IntField($"dim[{i}]", 40 + 2 * i, 2, false)),
        HugeDims("dim[1..3]", [42, 44, 46], 2, false),
        IntField("datatype", 70, 2, false),
        IntField("bitpix", 72, 2, false),
        FloatField("vox_offset", 108, false),
        FloatField("scl_slope", 112, false),
        FloatField("scl_inter", 116, false),
        FloatField("pixdim[1]", 80, false),
        FloatField("srow_x[0]", 280, false),
        IntField("sform_code", 254, 2, false),
        IntField("extension flag", 348, 1, false),
    ];

    static List<Func<byte[], Random, (byte[], string)>> Nifti2Fields() =>
    [
        IntField("sizeof_hdr", 0, 4, false),
        .. Enumerable.Range(0, 8).Select(i => IntField($"dim[{i}]", 16 + 8 * i, 8, false)),
        HugeDims("dim[1..3]", [24, 32, 40], 8, false),
        IntField("datatype", 12, 2, false),
        IntField("bitpix", 14, 2, false),
        IntField("vox_offset", 168, 8, false),
        IntField("sform_code", 348, 4, false),
        IntField("extension flag", 540, 1, false),
    ];

    static List<Func<byte[], Random, (byte[], string)>> MghFields() =>
    [
        IntField("version", 0, 4, true),
        .. Enumerable.Range(0, 4).Select(i => IntField($"dims[{i}]", 4 + 4 * i, 4, true)),
        HugeDims("dims[0..2]", [4, 8, 12], 4, true),
        HugeDims("dims[0..3]", [4, 8, 12, 16], 4, true),
        IntField("type", 20, 4, true),
        IntField("goodRASflag", 28, 2, true),
        FloatField("delta[0]", 30, true),
        FloatField("Mdc[0]", 42, true),
    ];

    [Fact]
    public void Nifti1() => Run(new Fuzzer { Reader = "nifti1", Seed = ValidVolume(".nii", VolumeFormat.Nifti1), Extension = ".nii", Read = ReadVolume, Targeted = Nifti1Fields() });

    [Fact]
    public void Nifti1Int16BigHeaderGz() => Run(new Fuzzer
    {
        Reader = "nifti1-gz", Seed = ValidVolume(".nii", VolumeFormat.Nifti1, ScalarType.Int16), Extension = ".nii.gz",
        Read = ReadVolume, Encode = FuzzEncodings.Gzip, Targeted = Nifti1Fields(), Allowance = 1100 * 2,
    });

    [Fact]
    public void Nifti2() => Run(new Fuzzer { Reader = "nifti2", Seed = ValidVolume(".nii", VolumeFormat.Nifti2), Extension = ".nii", Read = ReadVolume, Targeted = Nifti2Fields() });

    [Fact]
    public void Mgh() => Run(new Fuzzer { Reader = "mgh", Seed = ValidVolume(".mgh", VolumeFormat.Mgh), Extension = ".mgh", Read = ReadVolume, Targeted = MghFields() });

    [Fact]
    public void Mgz() => Run(new Fuzzer
    {
        Reader = "mgz", Seed = ValidVolume(".mgh", VolumeFormat.Mgh, ScalarType.Byte), Extension = ".mgz",
        Read = ReadVolume, Encode = FuzzEncodings.Gzip, Targeted = MghFields(), Allowance = 1100 * 2,
    });

    internal static void Run(Fuzzer f)
    {
        int cases = Cases;
        AssertClean(f.Reader, f.Run(cases), cases);
    }
}
