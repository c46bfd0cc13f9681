using System.Buffers.Binary;
using SkiaSharp;
using Unsup.Data;

namespace Unsup.Tests.Core.Data;

public class DataSpecTests
{
    [Theory]
    [InlineData("fashion-mnist", "fashion-mnist", null, null)]
    [InlineData("fashion-mnist:/d/fm", "fashion-mnist", "/d/fm", null)]
    [InlineData("mnist:/d/m", "mnist", "/d/m", null)]
    [InlineData("CIFAR10:/d/c", "cifar10", "/d/c", null)]
    [InlineData("cifar100:rel/c100", "cifar100", "rel/c100", null)]
    [InlineData("stl10:/d/stl", "stl10", "/d/stl", null)]
    [InlineData("stl10:/d/stl:train+unlabeled", "stl10", "/d/stl", "train+unlabeled")]
    [InlineData("stl10:C:\\data\\stl:unlabeled", "stl10", "C:\\data\\stl", "unlabeled")]
    [InlineData("folder:/pics/a:b", "folder", "/pics/a:b", null)]
    public void ParsesAcceptedForms(string text, string kind, string? dir, string? variant)
    {
        var spec = DataSpec.Parse(text);
        Assert.Equal(new DataSpec(kind, dir, variant), spec);
    }

    [Theory]
    [InlineData("imagenet:/x")]
    [InlineData("")]
    public void UnknownKindListsAcceptedForms(string text)
    {
        var e = Assert.Throws<UnsupException>(() => DataSpec.Parse(text));
        Assert.Contains("accepted forms: fashion-mnist | fashion-mnist:DIR | mnist:DIR | cifar10:DIR | cifar100:DIR | stl10:DIR[:train|unlabeled|train+unlabeled|test] | folder:DIR", e.Message);
    }

    [Fact]
    public void KindsThatNeedAFolderSaySo()
    {
        Assert.Contains("needs a folder: cifar10:DIR", Assert.Throws<UnsupException>(() => DataSpec.Parse("cifar10")).Message);
        Assert.Contains("needs a folder: stl10:DIR", Assert.Throws<UnsupException>(() => DataSpec.Parse("stl10:")).Message);
    }

    [Fact]
    public void FashionMnistWithoutFolderIsFoundByTheResolver()
    {
        using var dir = TestData.Temp();
        var fm = Directory.CreateDirectory(Path.Combine(dir.Path, "fashion-mnist")).FullName;
        File.WriteAllBytes(Path.Combine(fm, "train-images-idx3-ubyte.gz"), Idx([2, 1, 1], [7, 8]));
        File.WriteAllBytes(Path.Combine(fm, "train-labels-idx1-ubyte.gz"), Idx([2], [3, 4]));
        File.WriteAllBytes(Path.Combine(fm, "t10k-images-idx3-ubyte.gz"), Idx([1, 1, 1], [9]));
        File.WriteAllBytes(Path.Combine(fm, "t10k-labels-idx1-ubyte.gz"), Idx([1], [5]));
        var resolver = new DataResolver(new DataResolverOptions { DataDir = dir.Path, EnvDataDir = null, AllowDownload = false });
        var spec = DataSpec.Parse("fashion-mnist");
        using var train = spec.Load(DataSplit.Train, resolver);
        using var test = spec.Load(DataSplit.Test, resolver);
        Assert.Equal(new long[] { 3, 4 }, train.Labels);
        Assert.Equal(new long[] { 5 }, test.Labels);
        Assert.Equal("fashion-mnist/test", test.Name);
        // an explicit folder may be the IDX folder itself or a data folder holding fashion-mnist/
        using var viaDataDir = DataSpec.Parse("fashion-mnist:" + dir.Path).Load(DataSplit.Test);
        using var viaIdxDir = DataSpec.Parse("fashion-mnist:" + fm).Load(DataSplit.Train);
        Assert.Equal(new long[] { 5 }, viaDataDir.Labels);
        Assert.Equal(new long[] { 3, 4 }, viaIdxDir.Labels);
    }

    [Fact]
    public void FolderSpecUsesTrainAndTestSubfoldersWhenPresent()
    {
        using var dir = TestData.Temp();
        foreach (var (split, cls) in new[] { ("train", "a"), ("train", "b"), ("test", "a"), ("test", "b") })
            Png(Path.Combine(dir.Path, split, cls, "x.png"));
        var spec = DataSpec.Parse("folder:" + dir.Path);
        Assert.True(spec.HasSplit(DataSplit.Test));
        using var train = spec.Load(DataSplit.Train);
        Assert.Equal(new[] { "a", "b" }, train.ClassNames);
        using var test = spec.Load(DataSplit.Test, folderOptions: new ImageFolderOptions { Size = 2 });
        Assert.Equal(2, test.Count);

        using var flat = TestData.Temp();
        Png(flat.File("y.png"));
        var flatSpec = DataSpec.Parse("folder:" + flat.Path);
        Assert.False(flatSpec.HasSplit(DataSplit.Test));
        Assert.Contains("no test split", Assert.Throws<UnsupException>(() => flatSpec.Load(DataSplit.Test)).Message);
    }

    static void Png(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bmp = new SKBitmap(3, 3);
        bmp.Erase(SKColors.Orange);
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    static byte[] Idx(int[] dims, byte[] data)
    {
        var ms = new MemoryStream();
        ms.Write([0, 0, 8, (byte)dims.Length]);
        var b = new byte[4];
        foreach (var d in dims) { BinaryPrimitives.WriteInt32BigEndian(b, d); ms.Write(b); }
        ms.Write(data);
        return ms.ToArray();
    }
}
