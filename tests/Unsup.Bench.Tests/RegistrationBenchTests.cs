using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Bench.Tests;

/// <summary>bench/registration's driver on any folder of label maps (here tiny non-FreeSurfer ones).</summary>
public class RegistrationBenchTests
{
    [Fact]
    public void AnyLabelMapFolderGivesATableAChartAndPerPairRows()
    {
        using var dir = TestData.Temp();
        Directory.CreateDirectory(dir.File("maps"));
        for (int s = 0; s < 4; s++)
        {
            using var scope = NewDisposeScope();
            var l = zeros([28, 28, 28], ScalarType.Int16);
            l[TensorIndex.Slice(4 + s, 22 + s), TensorIndex.Slice(4, 24), TensorIndex.Slice(4, 24)] = tensor((short)1);
            l[TensorIndex.Slice(9 + s, 17 + s), TensorIndex.Slice(9, 19), TensorIndex.Slice(9, 19)] = tensor((short)5);
            NiftiWriter.Write(dir.File($"maps/m{s}.nii.gz"), NiftiImage.Create(l, null, "", NiftiIntent.Label));
        }
        string out_ = dir.File("out");
        int rc = Unsup.Bench.Registration.Program.Main(["--label-maps", dir.File("maps"), "--out", out_, "--downsample", "1", "--val", "2", "--threads", "1", "--no-elastix"]);
        Assert.Equal(0, rc);
        var md = File.ReadAllText(Path.Combine(out_, "registration.md"));
        Assert.Contains("| no registration | 2 |", md);
        Assert.True(md.Contains("the 2 labels present in every subject (1, 5)"), md);   // not FreeSurfer ids: every common label counts
        Assert.True(new FileInfo(Path.Combine(out_, "registration.png")).Length > 1000);
        var csv = File.ReadAllLines(Path.Combine(out_, "pairs.csv"));
        Assert.Equal(1 + 2, csv.Length);                                // header + 2 ordered pairs
        Assert.StartsWith("no registration,m2<-m3,", csv[1]);
        Assert.Equal(2, Unsup.Bench.Registration.Program.Main(["--out", out_]));   // usage error
    }
}
