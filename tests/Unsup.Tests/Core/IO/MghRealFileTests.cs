using Unsup.IO;
using Unsup.IO.Numpy;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

/// <summary>The shared SynthSeg label map, converted to .mgz by nibabel, read and written back through Unsup.</summary>
public class MghRealFileTests
{
    static string Py(string s) => s.Replace("\\", "/");

    [SkippableFact]
    public void SynthSegLabelMap_AsMgz_RoundTripsThroughUnsupAndNibabel()
    {
        var nii = TestData.Shared("synthseg/training_seg_01.nii.gz");
        using var tmp = TestData.Temp();
        var mgz = tmp.File("seg.mgz");
        var back = tmp.File("seg_back.mgz");
        TestData.Python($@"
import nibabel as nib
img = nib.load('{Py(nii)}')
nib.save(nib.MGHImage(img.dataobj, img.affine), '{Py(mgz)}')
", "nibabel", "numpy");

        using var fromNii = VolumeFile.Read(nii);
        using var fromMgz = VolumeFile.Read(mgz);
        Assert.Equal("MGH", VolumeFile.Kind(mgz));
        AssertSame(fromNii.Data, fromMgz.Data);
        AssertAffine(fromNii.Affine, fromMgz.Affine);

        VolumeFile.Write(back, fromMgz);
        var r = TestData.Python(FormatTestUtil.PyChecksum + $@"
import nibabel as nib, numpy as np
a = nib.load('{Py(nii)}')
b = nib.load('{Py(back)}')
print(np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)), float(np.abs(a.affine - b.affine).max()) < 1e-4, b.get_data_dtype().name)
", "nibabel", "numpy");
        Assert.Equal("True True float32", r.Trim());
    }
}
