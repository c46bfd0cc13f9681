using SkiaSharp;
using Unsup.Data;
using static Unsup.Tests.Core.IO.Fuzzing.Fuzzer;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>Fuzzes the dataset readers: IDX (plain, gzip), CIFAR and STL-10 binaries, and image files through the image-folder loader.</summary>
public class DatasetFuzzTests
{
    static byte[] ValidIdx()
    {
        // uint8 images [3, 4, 5]
        byte[] head = [0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5];
        return [.. head, .. Enumerable.Range(0, 60).Select(i => (byte)i)];
    }

    static List<Func<byte[], Random, (byte[], string)>> IdxFields() =>
    [
        IntField("type", 2, 1, true),
        IntField("ndims", 3, 1, true),
        .. Enumerable.Range(0, 3).Select(i => IntField($"dim[{i}]", 4 + 4 * i, 4, true)),
        HugeDims("dims", [4, 8, 12], 4, true),
    ];

    [Fact]
    public void Idx() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "idx", Seed = ValidIdx(), Extension = "-ubyte", Targeted = IdxFields(),
        Read = path => { using var t = IdxReader.Read(path); },
    });

    [Fact]
    public void IdxGz() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "idx-gz", Seed = ValidIdx(), Extension = "-ubyte.gz", Targeted = IdxFields(), Encode = FuzzEncodings.Gzip, Allowance = 1100 * 2,
        Read = path => { using var t = IdxReader.Read(path); },
    });

    [Fact]
    public void CifarBinary()
    {
        var seed = new byte[3 * (1 + Cifar.ImageBytes)];
        new Random(1).NextBytes(seed);
        for (int r = 0; r < 3; r++) seed[r * (1 + Cifar.ImageBytes)] = (byte)(r + 2);
        VolumeFuzzTests.Run(new Fuzzer
        {
            Reader = "cifar", Seed = seed, Extension = ".bin",
            Targeted = [IntField("label 0", 0, 1, false), IntField("label 1", 1 + Cifar.ImageBytes, 1, false)],
            Read = path => { using var d = Cifar.Load([path], 1, 0, Cifar.Cifar10ClassNames, "fuzz"); },
        });
    }

    [Fact]
    public void Stl10Binary()
    {
        var images = new byte[2 * Stl10.ImageBytes];
        new Random(2).NextBytes(images);
        // the mutated file is test_X.bin; its labels stay valid, so truncations show as a count mismatch too
        VolumeFuzzTests.Run(new Fuzzer
        {
            Reader = "stl10", Seed = images, Extension = ".bin",
            PathInFolder = dir =>
            {
                File.WriteAllBytes(Path.Combine(dir, "test_y.bin"), [3, 7]);
                return Path.Combine(dir, "test_X.bin");
            },
            Read = path => { using var d = Stl10.Load(Path.GetDirectoryName(path)!, Stl10Part.Test); },
        });
    }

    [Fact]
    public void Stl10Labels()
    {
        VolumeFuzzTests.Run(new Fuzzer
        {
            Reader = "stl10-labels", Seed = [3, 7], Extension = ".bin",
            Targeted = [IntField("label", 0, 1, false)],
            PathInFolder = dir =>
            {
                File.WriteAllBytes(Path.Combine(dir, "test_X.bin"), new byte[2 * Stl10.ImageBytes]);
                return Path.Combine(dir, "test_y.bin");
            },
            Read = path => { using var d = Stl10.Load(Path.GetDirectoryName(path)!, Stl10Part.Test); },
        });
    }

    static byte[] Encoded(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(12, 9, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 9; y++) for (int x = 0; x < 12; x++) bitmap.SetPixel(x, y, new SKColor((byte)(x * 20), (byte)(y * 25), 90));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }

    /// <summary>A 24-bit bottom-up BMP (Skia has no BMP encoder).</summary>
    static byte[] Bmp24(int w, int h)
    {
        int row = (w * 3 + 3) / 4 * 4, size = 54 + row * h;
        var b = new byte[size];
        void I32(int o, int v) => System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(o), v);
        b[0] = (byte)'B'; b[1] = (byte)'M';
        I32(2, size); I32(10, 54); I32(14, 40); I32(18, w); I32(22, h);
        b[26] = 1; b[28] = 24; I32(34, row * h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) { int o = 54 + y * row + 3 * x; b[o] = (byte)(x * 20); b[o + 1] = (byte)(y * 25); b[o + 2] = 90; }
        return b;
    }

    static void ReadImageFolder(string path, int? size)
    {
        using var d = ImageFolder.Load(Path.GetDirectoryName(path)!, new ImageFolderOptions { MaxThreads = 1, Size = size });
    }

    [Fact]
    public void Png() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "png", Seed = Encoded(SKEncodedImageFormat.Png), Extension = ".png", Encode = FuzzEncodings.FixPngCrcs,
        Targeted = [IntField("IHDR width", 16, 4, true), IntField("IHDR height", 20, 4, true), HugeDims("IHDR size", [16, 20], 4, true),
            IntField("bit depth", 24, 1, true), IntField("colour type", 25, 1, true), IntField("IHDR length", 8, 4, true)],
        Allowance = ImageFolder.MaxPixelsPerFileByte * 4 * 2, Read = path => ReadImageFolder(path, null),
    });

    [Fact]
    public void Bmp() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "bmp", Seed = Bmp24(12, 9), Extension = ".bmp",
        Targeted = [IntField("width", 18, 4, false), IntField("height", 22, 4, false), HugeDims("size", [18, 22], 4, false),
            IntField("bits per pixel", 28, 2, false), IntField("pixel offset", 10, 4, false)],
        Allowance = ImageFolder.MaxPixelsPerFileByte * 4 * 2, Read = path => ReadImageFolder(path, 8),
    });

    [Fact]
    public void Jpeg() => VolumeFuzzTests.Run(new Fuzzer
    {
        Reader = "jpeg", Seed = Encoded(SKEncodedImageFormat.Jpeg), Extension = ".jpg",
        Allowance = ImageFolder.MaxPixelsPerFileByte * 4 * 2, Read = path => ReadImageFolder(path, null),
    });
}
