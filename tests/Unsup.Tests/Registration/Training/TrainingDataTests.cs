using Unsup.IO.Nifti;
using Unsup.Registration.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Training;

/// <summary>Loading training subjects: grids, padding, downsampling, and a clear message for each bad input.</summary>
public class TrainingDataTests
{
    static string Write(TempDir dir, string name, Tensor data)
    {
        var path = dir.File(name);
        NiftiWriter.Write(path, NiftiImage.Create(data));
        return path;
    }

    [Fact]
    public void LoadsAFolderNormalisesPadsAndFindsTheCommonLabels()
    {
        using var dir = TestData.Temp();
        Directory.CreateDirectory(dir.File("img"));
        Directory.CreateDirectory(dir.File("lab"));
        var (images, labels) = SyntheticPairs.Subjects2D(4, n: 20);
        for (int i = 0; i < 4; i++)
        {
            Write(dir, $"img/s{i}.nii.gz", (images[i, 0] * 300 + 7).reshape(20, 20, 1));   // X×Y×1: a 2D slice
            var lab = labels[i, 0].to(ScalarType.Int16);
            if (i == 3) lab = where(lab == 2, full_like(lab, 9), lab);   // label 2 missing in one subject
            Write(dir, $"lab/s{i}.nii.gz", lab.reshape(20, 20, 1));
        }
        using var data = SymNetTrainingData.Load(ImageList.Resolve(dir.File("img")), ImageList.Resolve(dir.File("lab")), validationCount: 2);
        Assert.Equal(2, data.Dims);
        Assert.Equal([20L, 20L], data.Spatial);
        Assert.Equal([4L, 1L, 32L, 32L], data.Images.shape);          // padded to a multiple of 16
        Assert.Equal(0.0, data.Images[0].narrow(1, 0, 20).narrow(2, 0, 20).min().item<float>(), 5);
        Assert.Equal(1.0, data.Images[0].max().item<float>(), 5);     // min-max normalised
        Assert.Equal(0.0, data.Images[0, 0, 25, 25].item<float>());    // zero padding
        Assert.Equal([1L], data.EvalLabels);                            // only labels every subject has
        Assert.Equal(2, data.TrainCount);
        Assert.Equal(["s0.nii.gz", "s1.nii.gz", "s2.nii.gz", "s3.nii.gz"], data.Names);
    }

    [Fact]
    public void DownsamplingAveragesImagesAndKeepsLabelValues()
    {
        using var scope = NewDisposeScope();
        var img = arange(64, dtype: ScalarType.Float32).reshape(1, 1, 4, 4, 4);
        var small = Downsampling.Images(img, 2);
        Assert.Equal([1L, 1L, 2L, 2L, 2L], small.shape);
        // block [0,2)^3 of arange: mean of 0,1,4,5,16,17,20,21
        Assert.Equal((0 + 1 + 4 + 5 + 16 + 17 + 20 + 21) / 8.0, small[0, 0, 0, 0, 0].item<float>(), 5);

        var labels = randint(0, 5, [1, 1, 9, 7, 6]).mul(10);
        var sub = Downsampling.Labels(labels, 3);
        Assert.Equal([1L, 1L, 3L, 2L, 2L], sub.shape);
        Assert.Equal(labels[0, 0, 4, 1, 4].item<long>(), sub[0, 0, 1, 0, 1].item<long>());   // voxel f·i + f/2
        var allowed = labels.unique().Item1.data<long>().ToHashSet();
        Assert.All(sub.unique().Item1.data<long>().ToArray(), v => Assert.Contains(v, allowed));
    }

    [Fact]
    public void ImagesOfDifferentShapesNameTheFile()
    {
        using var dir = TestData.Temp();
        var a = Write(dir, "a.nii.gz", zeros(16, 16, 16));
        var b = Write(dir, "b.nii.gz", zeros(16, 16, 18));
        var e = Assert.Throws<UnsupException>(() => SymNetTrainingData.Load([a, b]));
        Assert.Contains("b.nii.gz", e.Message);
        Assert.Contains("16x16x18", e.Message);
        Assert.Contains("one grid", e.Message);
    }

    [Fact]
    public void AFourDimensionalImageIsRejected()
    {
        using var dir = TestData.Temp();
        var a = Write(dir, "a.nii.gz", zeros(8, 8, 8));
        var b = Write(dir, "fmri.nii.gz", zeros(8, 8, 8, 3));
        var e = Assert.Throws<UnsupException>(() => SymNetTrainingData.Load([a, b]));
        Assert.Contains("fmri.nii.gz", e.Message);
        Assert.Contains("4D image", e.Message);
        Assert.Contains("3D volume", e.Message);
    }

    [Fact]
    public void NonIntegerLabelsAreRejected()
    {
        using var dir = TestData.Temp();
        var a = Write(dir, "a.nii.gz", rand(8, 8, 8));
        var b = Write(dir, "b.nii.gz", rand(8, 8, 8));
        var la = Write(dir, "la.nii.gz", ones(8, 8, 8));
        var lb = Write(dir, "lb.nii.gz", rand(8, 8, 8));   // an intensity image given as labels
        var e = Assert.Throws<UnsupException>(() => SymNetTrainingData.Load([a, b], [la, lb]));
        Assert.Contains("lb.nii.gz", e.Message);
        Assert.Contains("non-integer", e.Message);
    }

    [Fact]
    public void LabelsOffTheImageGridAndBadListsAreRejected()
    {
        using var dir = TestData.Temp();
        var a = Write(dir, "a.nii.gz", rand(8, 8, 8));
        var b = Write(dir, "b.nii.gz", rand(8, 8, 8));
        var la = Write(dir, "la.nii.gz", ones(8, 8, 8));
        var lb = Write(dir, "lb.nii.gz", ones(8, 8, 9));
        var e = Assert.Throws<UnsupException>(() => SymNetTrainingData.Load([a, b], [la, lb]));
        Assert.Contains("lb.nii.gz", e.Message);
        Assert.Contains("image's grid", e.Message);

        File.WriteAllText(dir.File("list.txt"), "# subjects\na.nii.gz\n\nmissing.nii.gz\n");
        var le = Assert.Throws<UnsupException>(() => ImageList.Resolve(dir.File("list.txt")));
        Assert.Contains("line 4: missing.nii.gz not found", le.Message);
        var ve = Assert.Throws<UnsupException>(() => SymNetTrainingData.Load([a, b], [la, la], validationCount: 1));
        Assert.Contains("at least 2", ve.Message);
    }
}
