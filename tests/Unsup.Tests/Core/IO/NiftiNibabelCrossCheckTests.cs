using System.Globalization;
using TorchSharp;
using Unsup.IO.Nifti;
using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

/// <summary>nibabel is the reference reader/writer: files must mean the same thing to both.</summary>
public class NiftiNibabelCrossCheckTests
{
    static string Py(string s) => s.Replace("\\", "/");

    [SkippableFact]
    public void FilesWrittenByUnsup_ReadIdenticallyByNibabel()
    {
        using var tmp = TestData.Temp();
        var cases = new (string Name, Tensor Data, short Intent)[]
        {
            ("f32.nii.gz", Positional([7, 5, 3], ScalarType.Float32), 0),
            ("f64.nii", Positional([4, 3, 2], ScalarType.Float64), 0),
            ("i16.nii.gz", Positional([6, 5, 4], ScalarType.Int16), NiftiIntent.Label),
            ("u8_2d.nii", Positional([9, 8], ScalarType.Byte), 0),
            ("i32_4d.nii.gz", Positional([3, 4, 2, 5], ScalarType.Int32), 0),
        };
        foreach (var (name, data, intent) in cases)
            using (var img = NiftiImage.Create(data.clone(), Oblique(), "from unsup", intent))
                NiftiWriter.Write(tmp.File(name), img);
        using (var fixedImg = NiftiImage.Create(torch.zeros(6, 5, 4), Oblique()))
        using (var field = fixedImg.VectorFieldLike(Positional([6, 5, 4, 3], ScalarType.Float32)))
            NiftiWriter.Write(tmp.File("disp.nii.gz"), field);

        var script = $@"
import nibabel as nib, numpy as np
import os
d = '{Py(tmp.Path)}'
for n in ['f32.nii.gz', 'f64.nii', 'i16.nii.gz', 'u8_2d.nii', 'i32_4d.nii.gz', 'disp.nii.gz']:
    img = nib.load(os.path.join(d, n))
    np.save(os.path.join(d, n + '.data.npy'), np.asanyarray(img.dataobj))
    np.save(os.path.join(d, n + '.affine.npy'), img.affine)
    h = img.header
    print(n, img.header.get_data_dtype().name, 'x'.join(map(str, img.shape)), int(h['intent_code']), h['descrip'].item().decode())
";
        var lines = TestData.Python(script, "nibabel", "numpy").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 5)).ToDictionary(p => p[0]);

        foreach (var (name, data, intent) in cases.Append(("disp.nii.gz", Positional([6, 5, 4, 3], ScalarType.Float32).unsqueeze(3), NiftiIntent.Vector)))
        {
            var l = lines[name];
            Assert.Equal(NumpyName(data.dtype), l[1]);
            Assert.Equal(string.Join("x", data.shape), l[2]);
            Assert.Equal(intent.ToString(), l[3]);
            using var fromNib = NpyReader.Read(tmp.File(name + ".data.npy"));
            AssertSame(data, fromNib);
            using var aff = NpyReader.Read(tmp.File(name + ".affine.npy"));
            var a = aff.data<double>().ToArray();
            var expected = Oblique();
            for (int i = 0; i < 16; i++) Assert.Equal(expected[i / 4, i % 4], a[i], 4);
            data.Dispose();
        }
        Assert.Equal("from unsup", lines["f32.nii.gz"][4].Trim());
    }

    [SkippableFact]
    public void FilesWrittenByNibabel_ReadIdenticallyByUnsup()
    {
        using var tmp = TestData.Temp();
        var script = $@"
import nibabel as nib, numpy as np, os, struct
d = '{Py(tmp.Path)}'
rng = np.random.default_rng(0)
def save(name, img):
    path = os.path.join(d, name)
    nib.save(img, path)
    back = nib.load(path)
    np.save(path + '.fdata.npy', back.get_fdata(dtype=np.float64))
    np.save(path + '.raw.npy', np.asanyarray(back.dataobj) if not back.header.get_slope_inter()[0] else back.dataobj.get_unscaled())
    np.save(path + '.affine.npy', back.affine)
    print(name, back.header.get_data_dtype().name, 'x'.join(map(str, back.shape)))

c, s = np.cos(0.3), np.sin(0.3)
rot = np.array([[c, -s, 0, 10], [s, c, 0, -20], [0, 0, 1, 5], [0, 0, 0, 1]]) @ np.diag([1.2, 0.9, 2.0, 1])

# sform and qform (nibabel default)
save('both.nii.gz', nib.Nifti1Image(rng.normal(size=(6, 5, 4)).astype(np.float32), rot))

# qform only, with a flip (qfac -1)
img = nib.Nifti1Image(rng.integers(-300, 300, size=(5, 4, 3)).astype(np.int16), None)
img.set_qform(rot @ np.diag([1, 1, -1, 1]), code=1)
img.set_sform(None, code=0)
save('qform.nii', img)

# sform only, with a shear no quaternion can hold
shear = rot.copy(); shear[0, 1] += 0.4
img = nib.Nifti1Image(rng.integers(0, 255, size=(4, 6, 2)).astype(np.uint8), None)
img.set_sform(shear, code=2)
img.set_qform(None, code=0)
save('sform.nii.gz', img)

# big-endian uint16
hdr = nib.Nifti1Header(endianness='>')
img = nib.Nifti1Image(rng.integers(0, 65535, size=(3, 4, 5)).astype('>u2'), rot, header=hdr)
img.set_data_dtype(np.dtype('>u2'))
save('be_u16.nii', img)

# neither form: pixdim only
img = nib.Nifti1Image(rng.normal(size=(5, 4, 3)).astype(np.float64), None)
img.header.set_zooms((2.0, 3.0, 1.5))
img.set_qform(None, code=0); img.set_sform(None, code=0)
save('base.nii', img)

# a header extension (comment, ecode 6)
img = nib.Nifti1Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), rot)
img.header.extensions.append(nib.nifti1.Nifti1Extension('comment', b'made by nibabel'))
save('ext.nii', img)

# int16 with scl_slope/scl_inter patched into the header (nibabel would otherwise pick its own)
path = os.path.join(d, 'scaled.nii')
nib.save(nib.Nifti1Image(rng.integers(-1000, 1000, size=(4, 4, 3)).astype(np.int16), rot), path)
b = bytearray(open(path, 'rb').read())
struct.pack_into('<ff', b, 112, 2.5, -3.0)
open(path, 'wb').write(bytes(b))
back = nib.load(path)
np.save(path + '.fdata.npy', back.get_fdata(dtype=np.float64))
np.save(path + '.raw.npy', back.dataobj.get_unscaled())
np.save(path + '.affine.npy', back.affine)
print('scaled.nii', back.header.get_data_dtype().name, 'x'.join(map(str, back.shape)))
";
        var lines = TestData.Python(script, "nibabel", "numpy").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0]);
        Assert.Equal(7, lines.Count);
        Assert.Equal("uint16", lines["be_u16.nii"][1]);

        foreach (var (name, parts) in lines)
        {
            var path = tmp.File(name);
            using var img = NiftiReader.Read(path);
            using var raw = NiftiReader.Read(path, applyScaling: false);
            Assert.Equal(parts[2], string.Join("x", img.Shape));

            using var fdata = NpyReader.Read(path + ".fdata.npy");
            Assert.True(fdata.allclose(img.Data.to_type(ScalarType.Float64), rtol: 1e-6, atol: 1e-6), $"{name}: values differ from nibabel's get_fdata()");
            using var nibRaw = NpyReader.Read(path + ".raw.npy");
            Assert.True(nibRaw.to_type(ScalarType.Float64).eq(raw.Data.to_type(ScalarType.Float64)).all().item<bool>(), $"{name}: stored values differ");

            using var aff = NpyReader.Read(path + ".affine.npy");
            var a = aff.data<double>().ToArray();
            var ours = img.Affine;
            for (int i = 0; i < 16; i++) Assert.True(Math.Abs(a[i] - ours[i / 4, i % 4]) < 1e-4, $"{name}: affine[{i / 4},{i % 4}] nibabel {a[i]} unsup {ours[i / 4, i % 4]}");
        }
        Assert.True(NiftiReader.ReadHeader(tmp.File("be_u16.nii")).BigEndian);
        using (var ext = NiftiReader.Read(tmp.File("ext.nii")))
        {
            var e = Assert.Single(ext.Header.Extensions);
            Assert.Equal(6, e.Code);
            Assert.StartsWith("made by nibabel", System.Text.Encoding.ASCII.GetString(e.Content));
            // and back: nibabel must see the extension in a file Unsup wrote
            NiftiWriter.Write(tmp.File("ext_back.nii.gz"), ext);
        }
        var extBack = TestData.Python($@"
import nibabel as nib
img = nib.load('{Py(tmp.File("ext_back.nii.gz"))}')
e = img.header.extensions[0]
print(e.get_code(), e.get_content().rstrip(b'\x00').decode(), img.get_fdata().sum())
", "nibabel");
        Assert.Equal("6 made by nibabel 276.0", extBack.Trim());
        Assert.Equal(ScalarType.Int32, NiftiReader.Read(tmp.File("be_u16.nii"), applyScaling: false).Data.dtype); // uint16 widened
        Assert.Equal(2.5f, NiftiReader.ReadHeader(tmp.File("scaled.nii")).SclSlope);
        Assert.Equal(ScalarType.Float32, NiftiReader.Read(tmp.File("scaled.nii")).Data.dtype);
    }

    static string NumpyName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32", ScalarType.Float64 => "float64", ScalarType.Int16 => "int16",
        ScalarType.Byte => "uint8", ScalarType.Int32 => "int32", ScalarType.Int64 => "int64", ScalarType.Int8 => "int8",
        _ => t.ToString(),
    };
}
