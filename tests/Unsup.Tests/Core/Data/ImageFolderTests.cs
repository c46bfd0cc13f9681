using SkiaSharp;
using TorchSharp;
using Unsup.Data;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.Data;

public class ImageFolderTests
{
    /// <summary>Writes an opaque RGB image whose pixel (x, y) is color(x, y).</summary>
    static void WriteRgb(string path, int w, int h, Func<int, int, (byte r, byte g, byte b)> color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++)
        {
            var (r, g, b) = color(x, y);
            bmp.SetPixel(x, y, new SKColor(r, g, b));
        }
        Save(path, bmp, format);
    }

    static void WriteGray(string path, int w, int h, Func<int, int, byte> value)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        var px = bmp.GetPixelSpan();
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[y * bmp.RowBytes + x] = value(x, y);
        Save(path, bmp, SKEncodedImageFormat.Png);
    }

    static void Save(string path, SKBitmap bmp, SKEncodedImageFormat format)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bmp.Encode(format, 95);
        Assert.NotNull(data);
        File.WriteAllBytes(path, data.ToArray());
    }

    static (byte, byte, byte) Pattern(int i, int x, int y) => ((byte)(x * 40 + i), (byte)(y * 30 + 1), (byte)(200 - i));

    [Fact]
    public void ClassFoldersGiveSortedLabelsAndExactPngPixels()
    {
        using var dir = TestData.Temp();
        WriteRgb(Path.Combine(dir.Path, "cat", "b.png"), 4, 3, (x, y) => Pattern(2, x, y));
        WriteRgb(Path.Combine(dir.Path, "cat", "a.png"), 4, 3, (x, y) => Pattern(1, x, y));
        WriteRgb(Path.Combine(dir.Path, "dog", "c.PNG"), 4, 3, (x, y) => Pattern(3, x, y));
        WriteRgb(Path.Combine(dir.Path, "ant", "sub", "d.png"), 4, 3, (x, y) => Pattern(0, x, y));
        File.WriteAllText(Path.Combine(dir.Path, "cat", "notes.txt"), "ignored");

        using var ds = ImageFolder.Load(dir.Path);
        Assert.Equal(new[] { "ant", "cat", "dog" }, ds.ClassNames);
        Assert.Equal(new long[] { 0, 1, 1, 2 }, ds.Labels);
        Assert.Equal(new[] { "ant/sub/d.png", "cat/a.png", "cat/b.png", "dog/c.PNG" },
            ds.Sources!.Select(s => Path.GetRelativePath(dir.Path, s).Replace('\\', '/')));
        Assert.Equal(new long[] { 4, 3, 3, 4 }, ds.Images.shape); // N, C, H=3, W=4

        var expected = new byte[4 * 3 * 3 * 4];
        int k = 0;
        for (int i = 0; i < 4; i++) for (int c = 0; c < 3; c++) for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++)
        {
            var (r, g, b) = Pattern(i, x, y);
            expected[k++] = c == 0 ? r : c == 1 ? g : b;
        }
        Assert.Equal(expected, ds.Images.data<byte>().ToArray());
    }

    [Fact]
    public void FlatGrayscaleFolderIsOneChannelUnlabelled()
    {
        using var dir = TestData.Temp();
        WriteGray(dir.File("x1.png"), 5, 2, (x, y) => (byte)(x * 50 + y));
        WriteGray(dir.File("x2.png"), 5, 2, (x, y) => (byte)(255 - x - 10 * y));
        using var ds = ImageFolder.Load(dir.Path);
        Assert.Null(ds.Labels);
        Assert.Empty(ds.ClassNames);
        Assert.Equal(new long[] { 2, 1, 2, 5 }, ds.Images.shape);
        Assert.Equal(new byte[] { 0, 50, 100, 150, 200, 1, 51, 101, 151, 201, 255, 254, 253, 252, 251, 245, 244, 243, 242, 241 },
            ds.Images.data<byte>().ToArray());

        using var rgb = ImageFolder.Load(dir.Path, new ImageFolderOptions { Channels = 3 });
        Assert.Equal(3, rgb.Channels);
        Assert.Equal(rgb.Images[1, 0].data<byte>().ToArray(), rgb.Images[1, 2].data<byte>().ToArray());
    }

    [Fact]
    public void AutoChannelsKeepsColourAndOneChannelUsesLuma()
    {
        using var dir = TestData.Temp();
        WriteGray(dir.File("a.png"), 2, 2, (x, y) => 100);
        WriteRgb(dir.File("b.png"), 2, 2, (x, y) => (200, 100, 50));
        using var auto = ImageFolder.Load(dir.Path);
        Assert.Equal(3, auto.Channels);
        Assert.Equal(new byte[] { 200, 100, 50 }, auto.Images[1, TensorIndex.Colon, 0, 0].data<byte>().ToArray());
        Assert.Equal(new byte[] { 100, 100, 100 }, auto.Images[0, TensorIndex.Colon, 1, 1].data<byte>().ToArray());

        using var gray = ImageFolder.Load(dir.Path, new ImageFolderOptions { Channels = 1 });
        Assert.Equal(1, gray.Channels);
        // 0.299*200 + 0.587*100 + 0.114*50 = 124.2
        Assert.Equal(124, gray.Images[1, 0, 0, 0].item<byte>());
        Assert.Equal(100, gray.Images[0, 0, 0, 0].item<byte>());
    }

    [Fact]
    public void DifferentSizesNeedResizeWhichCropsTheCentre()
    {
        using var dir = TestData.Temp();
        // 20 wide x 10 high: left half red, right half blue; the centre 10x10 square spans x = 5..14
        WriteRgb(dir.File("wide.png"), 20, 10, (x, y) => x < 10 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));
        WriteRgb(dir.File("small.jpg"), 3, 5, (x, y) => (10, 200, 30), SKEncodedImageFormat.Jpeg);

        var e = Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path));
        Assert.Contains("different sizes need a fixed resize", e.Message);
        Assert.Contains("small.jpg", e.Message);

        using var ds = ImageFolder.Load(dir.Path, new ImageFolderOptions { Size = 4 });
        Assert.Equal(new long[] { 2, 3, 4, 4 }, ds.Images.shape);
        Assert.EndsWith("small.jpg", ds.Sources![0]);
        var small = ds.Images[0].to_type(ScalarType.Int32);
        var wide = ds.Images[1].to_type(ScalarType.Int32);
        // a uniform JPEG stays (about) uniform after upscaling
        Assert.True((small[1] - 200).abs().max().item<int>() <= 6, "green channel of the uniform jpeg");
        // crop keeps the boundary in the middle: left columns red, right columns blue, top row like bottom row
        Assert.True(wide[0, 2, 0].item<int>() > 200 && wide[2, 2, 0].item<int>() < 50);
        Assert.True(wide[2, 2, 3].item<int>() > 200 && wide[0, 2, 3].item<int>() < 50);
        Assert.Equal(wide[TensorIndex.Colon, 0].data<int>().ToArray(), wide[TensorIndex.Colon, 3].data<int>().ToArray());
    }

    [Fact]
    public void ExactCentreCropWhenTheShorterSideAlreadyFits()
    {
        using var dir = TestData.Temp();
        WriteRgb(dir.File("tall.png"), 4, 6, (x, y) => Pattern(0, x, y)); // 4 wide, 6 high: rows 1..4 are kept
        using var ds = ImageFolder.Load(dir.Path, new ImageFolderOptions { Size = 4 });
        var expected = new byte[3 * 4 * 4];
        int k = 0;
        for (int c = 0; c < 3; c++) for (int y = 1; y < 5; y++) for (int x = 0; x < 4; x++)
        {
            var (r, g, b) = Pattern(0, x, y);
            expected[k++] = c == 0 ? r : c == 1 ? g : b;
        }
        Assert.Equal(expected, ds.Images.data<byte>().ToArray());
    }

    [Fact]
    public void ReadsBmpAndLosslessWebp()
    {
        using var dir = TestData.Temp();
        // 24-bit BMP, 2x2, rows stored bottom-up as B,G,R with each row padded to 4 bytes
        var bmp = new List<byte>();
        void U16(int v) => bmp.AddRange(BitConverter.GetBytes((ushort)v));
        void U32(int v) => bmp.AddRange(BitConverter.GetBytes(v));
        bmp.AddRange("BM"u8.ToArray()); U32(54 + 16); U32(0); U32(54);
        U32(40); U32(2); U32(2); U16(1); U16(24); U32(0); U32(16); U32(2835); U32(2835); U32(0); U32(0);
        bmp.AddRange(new byte[] { 0, 0, 255, 0, 255, 0, 0, 0 });   // bottom row: red, green
        bmp.AddRange(new byte[] { 255, 0, 0, 255, 255, 255, 0, 0 }); // top row: blue, white
        File.WriteAllBytes(dir.File("a.bmp"), bmp.ToArray());

        using (var src = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            src.SetPixel(0, 0, new SKColor(0, 0, 255)); src.SetPixel(1, 0, new SKColor(255, 255, 255));
            src.SetPixel(0, 1, new SKColor(255, 0, 0)); src.SetPixel(1, 1, new SKColor(0, 255, 0));
            using var pixmap = src.PeekPixels();
            using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100));
            File.WriteAllBytes(dir.File("b.webp"), data!.ToArray());
        }

        using var ds = ImageFolder.Load(dir.Path);
        Assert.Equal(new long[] { 2, 3, 2, 2 }, ds.Images.shape);
        var expected = new byte[] { 0, 255, 255, 0, /* G */ 0, 255, 0, 255, /* B */ 255, 255, 0, 0 };
        Assert.Equal(expected, ds.Images[0].data<byte>().ToArray());
        Assert.Equal(expected, ds.Images[1].data<byte>().ToArray());
    }

    [Fact]
    public void CorruptAndTruncatedImagesNameTheFile()
    {
        using var dir = TestData.Temp();
        WriteRgb(Path.Combine(dir.Path, "a", "ok.png"), 8, 8, (x, y) => (1, 2, 3));
        File.WriteAllText(Path.Combine(dir.Path, "a", "bad.png"), "this is not a png");
        var e = Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path));
        Assert.StartsWith(Path.Combine(dir.Path, "a", "bad.png") + ": cannot decode", e.Message);

        File.Delete(Path.Combine(dir.Path, "a", "bad.png"));
        WriteRgb(Path.Combine(dir.Path, "a", "cut.png"), 64, 64, (x, y) => ((byte)(x * 4), (byte)(y * 4), (byte)(x ^ y)));
        var bytes = File.ReadAllBytes(Path.Combine(dir.Path, "a", "cut.png"));
        File.WriteAllBytes(Path.Combine(dir.Path, "a", "cut.png"), bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path, new ImageFolderOptions { Size = 8 }));
        Assert.StartsWith(Path.Combine(dir.Path, "a", "cut.png") + ":", e.Message);
    }

    [Fact]
    public void EmptyOrMixedFoldersGiveClearErrors()
    {
        using var dir = TestData.Temp();
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty_class"));
        var e = Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path));
        Assert.Equal($"{dir.Path}: no images (.png, .jpg, .jpeg, .bmp, .webp) found, neither directly nor in class sub-folders", e.Message);

        WriteRgb(Path.Combine(dir.Path, "cls", "x.png"), 2, 2, (x, y) => (0, 0, 0));
        Assert.Contains("empty_class hold no images", Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path)).Message);
        Directory.Delete(Path.Combine(dir.Path, "empty_class"));
        WriteRgb(dir.File("loose.png"), 2, 2, (x, y) => (0, 0, 0));
        Assert.Contains("both images", Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.Path)).Message);
        Assert.Contains("folder not found", Assert.Throws<UnsupException>(() => ImageFolder.Load(dir.File("nope"))).Message);
    }
}
