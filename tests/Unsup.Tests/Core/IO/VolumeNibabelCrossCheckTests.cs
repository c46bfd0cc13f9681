using TorchSharp;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

/// <summary>
/// MGH/MGZ and NIfTI-2 files must mean the same to nibabel and to Unsup, in both directions, in every dtype
/// the formats store (uint8, int16, int32, float32; float64 for NIfTI-2), with an oblique, flipped affine.
/// </summary>
public class VolumeNibabelCrossCheckTests
{
    static string Py(string s) => s.Replace("\\", "/");

    static readonly (string Name, ScalarType Dtype)[] Cases =
    [
        ("u8.mgz", ScalarType.Byte), ("i16.mgz", ScalarType.Int16), ("i32.mgh", ScalarType.Int32), ("f32.mgz", ScalarType.Float32),
        ("f32_4d.mgh", ScalarType.Float32),
        ("u8.n2.nii", ScalarType.Byte), ("i16.n2.nii.gz", ScalarType.Int16), ("i32.n2.nii", ScalarType.Int32),
        ("f32.n2.nii.gz", ScalarType.Float32), ("f64.n2.nii", ScalarType.Float64),
    ];

    static Tensor Data(string name, ScalarType dtype) => Positional(name.Contains("4d") ? [5, 4, 3, 2] : [7, 5, 3], dtype);

    /// <summary>nibabel loads each file: dtype, shape, data and affine saved for comparison.</summary>
    const string LoadAll = @"
for n in names:
    img = nib.load(os.path.join(d, n))
    np.save(os.path.join(d, n + '.data.npy'), np.asanyarray(img.dataobj))
    np.save(os.path.join(d, n + '.affine.npy'), img.affine)
    print(n, type(img).__name__, img.get_data_dtype().name, 'x'.join(map(str, img.shape)), int(img.header['sizeof_hdr']) if isinstance(img, nib.Nifti2Image) else 0)
";

    static Dictionary<string, string[]> Run(string script) =>
        TestData.Python(script, "nibabel", "numpy").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0]);

    static void AssertAffineFile(string npy, double[,] expected, string what)
    {
        using var aff = NpyReader.Read(npy);
        var a = aff.data<double>().ToArray();
        for (int i = 0; i < 16; i++)
            Assert.True(Math.Abs(expected[i / 4, i % 4] - a[i]) < 1e-4, $"{what}: affine[{i / 4},{i % 4}] expected {expected[i / 4, i % 4]}, got {a[i]}");
    }

    [SkippableFact]
    public void FilesWrittenByNibabel_ReadIdenticallyByUnsup()
    {
        using var tmp = TestData.Temp();
        foreach (var (name, dtype) in Cases)
            using (var t = Data(name, dtype)) NpyWriter.Write(tmp.File(name + ".src.npy"), t);
        var lines = Run($@"
import nibabel as nib, numpy as np, os
d = '{Py(tmp.Path)}'
aff = np.array({AffineLiteral(Oblique())})
names = {NamesLiteral()}
for n in names:
    a = np.load(os.path.join(d, n + '.src.npy'))
    img = nib.MGHImage(a, aff) if n.endswith(('.mgz', '.mgh')) else nib.Nifti2Image(a, aff)
    nib.save(img, os.path.join(d, n))
" + LoadAll);

        foreach (var (name, dtype) in Cases)
        {
            var path = tmp.File(name);
            bool mgh = !name.Contains(".nii");
            Assert.Equal(mgh ? "MGHImage" : "Nifti2Image", lines[name][1]);
            Assert.Equal(mgh ? "MGH" : "NIfTI-2", VolumeFile.Kind(path));
            using var img = VolumeFile.Read(path);
            using var expected = Data(name, dtype);
            AssertSame(expected, img.Data);
            using var nibData = NpyReader.Read(path + ".data.npy");
            AssertSame(nibData, img.Data);
            AssertAffine(Oblique(), img.Affine);
            AssertAffineFile(path + ".affine.npy", img.Affine, name); // the affine nibabel computes from the same header
        }
    }

    [SkippableFact]
    public void FilesWrittenByUnsup_ReadIdenticallyByNibabel()
    {
        using var tmp = TestData.Temp();
        foreach (var (name, dtype) in Cases)
            using (var img = NiftiImage.Create(Data(name, dtype), Oblique(), "from unsup"))
                VolumeFile.Write(tmp.File(name), img, name.Contains(".n2.") ? VolumeFormat.Nifti2 : VolumeFormat.Auto);
        var lines = Run($@"
import nibabel as nib, numpy as np, os
d = '{Py(tmp.Path)}'
names = {NamesLiteral()}
" + LoadAll);

        foreach (var (name, dtype) in Cases)
        {
            var path = tmp.File(name);
            bool mgh = !name.Contains(".nii");
            Assert.Equal(mgh ? "MGHImage" : "Nifti2Image", lines[name][1]);
            if (!mgh) Assert.Equal("540", lines[name][4]);
            using var expected = Data(name, dtype);
            Assert.Equal(string.Join("x", expected.shape), lines[name][3]);
            using var nibData = NpyReader.Read(path + ".data.npy");
            AssertSame(expected, nibData);
            AssertAffineFile(path + ".affine.npy", Oblique(), name);
        }
    }

    [SkippableFact]
    public void WideImage_IsWrittenAsNifti2_AndNibabelReadsIt()
    {
        using var tmp = TestData.Temp();
        var path = tmp.File("wide.nii.gz");
        using (var img = NiftiImage.Create(Positional([40000, 2, 1], ScalarType.Int16), Oblique()))
            VolumeFile.Write(path, img); // a dimension over 32767 cannot be NIfTI-1
        Assert.Equal(2, VolumeFile.ReadHeader(path).Version);
        var lines = Run($@"
import nibabel as nib, numpy as np, os
d = '{Py(tmp.Path)}'
names = ['wide.nii.gz']
" + LoadAll);
        Assert.Equal("Nifti2Image", lines["wide.nii.gz"][1]);
        using var nibData = NpyReader.Read(path + ".data.npy");
        using var expected = Positional([40000, 2, 1], ScalarType.Int16);
        AssertSame(expected, nibData);
        using var back = VolumeFile.Read(path);
        AssertSame(expected, back.Data);
    }

    [SkippableFact]
    public void ScaledInt16_SlopeAndInterceptApplied_Nifti2()
    {
        using var tmp = TestData.Temp();
        var path = tmp.File("scaled.n2.nii");
        TestData.Python($@"
import nibabel as nib, numpy as np
a = (np.arange(60).reshape(5, 4, 3) - 30).astype(np.int16)
img = nib.Nifti2Image(a, np.eye(4))
img.header.set_data_dtype(np.int16)
img.header.set_slope_inter(2.5, -3.0)
nib.save(img, '{Py(path)}')
b = nib.load('{Py(path)}')
np.save('{Py(path)}.fdata.npy', b.get_fdata())
", "nibabel", "numpy");
        using var img = VolumeFile.Read(path);
        using var raw = VolumeFile.Read(path, applyScaling: false);
        Assert.Equal(ScalarType.Int16, raw.Data.dtype);
        Assert.Equal(ScalarType.Float32, img.Data.dtype);
        using var expected = (torch.arange(60, ScalarType.Float32).reshape(5, 4, 3) - 30) * 2.5f - 3f;
        Assert.True(expected.allclose(img.Data), "scl_slope/scl_inter not applied");
        using var fdata = NpyReader.Read(path + ".fdata.npy");
        Assert.True(fdata.to_type(ScalarType.Float32).allclose(img.Data), "differs from nibabel's get_fdata()");
    }

    static string NamesLiteral() => "[" + string.Join(", ", Cases.Select(c => $"'{c.Name}'")) + "]";

    static string AffineLiteral(double[,] m) =>
        "[" + string.Join(", ", Enumerable.Range(0, 4).Select(i => "[" + string.Join(", ",
            Enumerable.Range(0, 4).Select(j => m[i, j].ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]";
}
