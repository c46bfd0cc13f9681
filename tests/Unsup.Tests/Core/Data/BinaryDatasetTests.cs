using TorchSharp;
using Unsup.Data;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.Data;

/// <summary>CIFAR and STL-10 readers on small synthetic files whose pixel values encode (image, channel, row, column).</summary>
public class BinaryDatasetTests
{
    static byte CifarPixel(int i, int c, int y, int x) => (byte)((i * 7 + c * 50 + y * 3 + x) % 256);
    static byte Stl(int i, int c, int y, int x) => (byte)((i * 11 + c * 60 + y * 2 + x * 5) % 256);

    static Tensor Expected(int n, int side, Func<int, int, int, int, byte> value, int firstIndex = 0)
    {
        var data = new byte[n * 3 * side * side];
        int k = 0;
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) for (int y = 0; y < side; y++) for (int x = 0; x < side; x++)
            data[k++] = value(firstIndex + i, c, y, x);
        return torch.tensor(data, [n, 3, side, side]);
    }

    static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.data<byte>().ToArray(), actual.contiguous().data<byte>().ToArray());
    }

    /// <summary>CIFAR record: label byte(s), then R, G, B planes, each row-major (row 0 first).</summary>
    static void WriteCifar(string path, int first, byte[][] labels)
    {
        var ms = new MemoryStream();
        for (int r = 0; r < labels.Length; r++)
        {
            ms.Write(labels[r]);
            for (int c = 0; c < 3; c++) for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) ms.WriteByte(CifarPixel(first + r, c, y, x));
        }
        File.WriteAllBytes(path, ms.ToArray());
    }

    /// <summary>STL-10 image: 3 planes, each column-major (all of column 0 top to bottom first).</summary>
    static void WriteStlX(string path, int first, int n)
    {
        var ms = new MemoryStream();
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) for (int x = 0; x < 96; x++) for (int y = 0; y < 96; y++) ms.WriteByte(Stl(first + i, c, y, x));
        File.WriteAllBytes(path, ms.ToArray());
    }

    [Fact]
    public void Cifar10DecodesPlanesRowsAndLabelsAcrossBatches()
    {
        using var dir = TestData.Temp();
        var folder = Directory.CreateDirectory(Path.Combine(dir.Path, "cifar-10-batches-bin")).FullName;
        int first = 0;
        for (int b = 1; b <= 5; b++)
        {
            WriteCifar(Path.Combine(folder, $"data_batch_{b}.bin"), first, [[(byte)b], [(byte)(b + 4)]]);
            first += 2;
        }
        WriteCifar(Path.Combine(folder, "test_batch.bin"), 100, [[3]]);
        File.WriteAllText(Path.Combine(folder, "batches.meta.txt"), "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n");

        using var train = Cifar.LoadCifar10(dir.Path, train: true);
        Assert.Equal(new long[] { 10, 3, 32, 32 }, train.Images.shape);
        using (var expected = Expected(10, 32, CifarPixel)) AssertSame(expected, train.Images);
        Assert.Equal(new long[] { 1, 5, 2, 6, 3, 7, 4, 8, 5, 9 }, train.Labels);
        Assert.Equal("a9", train.ClassNames[9]);
        Assert.Equal("data_batch_2.bin[1]", train.Sources![3]);
        // orientation spot checks: red plane first, then rows
        Assert.Equal(CifarPixel(0, 0, 0, 1), train.Images[0, 0, 0, 1].item<byte>());
        Assert.Equal(CifarPixel(4, 2, 31, 0), train.Images[4, 2, 31, 0].item<byte>());

        using var test = Cifar.LoadCifar10(folder, train: false);
        using (var expected = Expected(1, 32, CifarPixel, 100)) AssertSame(expected, test.Images);
        Assert.Equal(new long[] { 3 }, test.Labels);
    }

    [Fact]
    public void Cifar100FineAndCoarseLabels()
    {
        using var dir = TestData.Temp();
        WriteCifar(dir.File("train.bin"), 0, [[19, 99], [0, 42]]);
        WriteCifar(dir.File("test.bin"), 0, [[1, 2]]);
        using var fine = Cifar.LoadCifar100(dir.Path, train: true);
        Assert.Equal(new long[] { 99, 42 }, fine.Labels);
        Assert.Equal(100, fine.ClassCount);
        Assert.Equal("worm", fine.ClassNames[99]);
        using (var expected = Expected(2, 32, CifarPixel)) AssertSame(expected, fine.Images);
        using var coarse = Cifar.LoadCifar100(dir.Path, train: true, coarse: true);
        Assert.Equal(new long[] { 19, 0 }, coarse.Labels);
        Assert.Equal(20, coarse.ClassCount);
        Assert.Equal("vehicles_2", coarse.ClassNames[19]);
        Assert.Equal(100, Cifar.Cifar100FineNames.Distinct().Count());
    }

    [Fact]
    public void CifarTruncatedAndBadLabelErrors()
    {
        using var dir = TestData.Temp();
        WriteCifar(dir.File("test.bin"), 0, [[1, 2], [3, 4]]);
        var bytes = File.ReadAllBytes(dir.File("test.bin"));
        File.WriteAllBytes(dir.File("test.bin"), bytes[..^10]);
        var e = Assert.Throws<UnsupException>(() => Cifar.LoadCifar100(dir.Path, train: false));
        Assert.StartsWith(dir.File("test.bin") + ": size 6138 bytes is not a multiple of the 3074-byte", e.Message);

        WriteCifar(dir.File("test.bin"), 0, [[1, 200]]);
        Assert.Contains("record 0 has label 200", Assert.Throws<UnsupException>(() => Cifar.LoadCifar100(dir.Path, train: false)).Message);

        Assert.Contains("not a CIFAR-10 binary folder", Assert.Throws<UnsupException>(() => Cifar.LoadCifar10(dir.Path, train: true)).Message);
    }

    [Fact]
    public void Stl10TransposesColumnMajorImagesAndShiftsLabels()
    {
        using var dir = TestData.Temp();
        var folder = Directory.CreateDirectory(Path.Combine(dir.Path, "stl10_binary")).FullName;
        WriteStlX(Path.Combine(folder, "train_X.bin"), 0, 3);
        File.WriteAllBytes(Path.Combine(folder, "train_y.bin"), [1, 10, 4]);
        WriteStlX(Path.Combine(folder, "test_X.bin"), 10, 2);
        File.WriteAllBytes(Path.Combine(folder, "test_y.bin"), [2, 3]);
        WriteStlX(Path.Combine(folder, "unlabeled_X.bin"), 20, 2);

        using var train = Stl10.Load(dir.Path, Stl10Part.Train);
        Assert.Equal(new long[] { 3, 3, 96, 96 }, train.Images.shape);
        using (var expected = Expected(3, 96, Stl)) AssertSame(expected, train.Images);
        Assert.Equal(new long[] { 0, 9, 3 }, train.Labels);
        Assert.Equal("truck", train.ClassNames[9]);
        // row 0 / column 1 differs from row 1 / column 0 (x weighs 5, y weighs 2): catches a missing transpose
        Assert.Equal(Stl(0, 0, 0, 1), train.Images[0, 0, 0, 1].item<byte>());
        Assert.Equal(Stl(2, 1, 1, 0), train.Images[2, 1, 1, 0].item<byte>());

        using var mixed = Stl10.Load(dir.Path, Stl10Part.TrainAndUnlabeled);
        Assert.Equal(5, mixed.Count);
        Assert.Equal(new long[] { 0, 9, 3, -1, -1 }, mixed.Labels);
        using (var expected = Expected(2, 96, Stl, 20)) AssertSame(expected, mixed.Images.narrow(0, 3, 2));
        Assert.Equal("unlabeled_X.bin[1]", mixed.Sources![4]);

        using var unlabeled = Stl10.Load(folder, Stl10Part.Unlabeled);
        Assert.Null(unlabeled.Labels);
        using var test = Stl10.Load(folder, Stl10Part.Test);
        Assert.Equal(new long[] { 1, 2 }, test.Labels);
        using (var expected = Expected(2, 96, Stl, 10)) AssertSame(expected, test.Images);
    }

    [Fact]
    public void Stl10ErrorsNameTheFile()
    {
        using var dir = TestData.Temp();
        WriteStlX(dir.File("test_X.bin"), 0, 2);
        File.WriteAllBytes(dir.File("test_y.bin"), [1]);
        Assert.Contains("1 labels but", Assert.Throws<UnsupException>(() => Stl10.Load(dir.Path, Stl10Part.Test)).Message);
        File.WriteAllBytes(dir.File("test_y.bin"), [1, 0]);
        Assert.Contains("label 0 at index 1 is outside 1..10", Assert.Throws<UnsupException>(() => Stl10.Load(dir.Path, Stl10Part.Test)).Message);
        File.WriteAllBytes(dir.File("test_X.bin"), File.ReadAllBytes(dir.File("test_X.bin"))[..^1]);
        var e = Assert.Throws<UnsupException>(() => Stl10.Load(dir.Path, Stl10Part.Test));
        Assert.StartsWith(dir.File("test_X.bin") + ": size 55295 bytes is not a multiple of the 27648-byte", e.Message);
        Assert.Contains("train_X.bin: file not found", Assert.Throws<UnsupException>(() => Stl10.Load(dir.Path, Stl10Part.Train)).Message);
    }
}
