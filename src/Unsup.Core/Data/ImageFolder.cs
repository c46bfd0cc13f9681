using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>How <see cref="ImageFolder.Load"/> shapes the images.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>1 (grayscale), 3 (RGB) or 0 = auto: 1 when every image is grayscale (R = G = B everywhere), else 3.
    /// Colour images asked for as 1 channel are converted with the ITU-R 601 luma weights (as PIL's "L").</summary>
    public int Channels { get; init; }

    /// <summary>
    /// Resize every image to Size x Size: scale so the shorter side is Size, then take the centre square
    /// (done as: crop the centred square of side min(W,H), then resample it). Keeps the aspect ratio, loses
    /// the borders of the longer side, like torchvision's Resize(S)+CenterCrop(S) evaluation transform.
    /// Null: keep each image's size (they must then all be equal, to stack into one tensor).
    /// </summary>
    public int? Size { get; init; }

    /// <summary>Maximum decoding threads (null = all cores).</summary>
    public int? MaxThreads { get; init; }
}

/// <summary>
/// Loads an image folder with SkiaSharp: either root/CLASS/**/*.png|jpg|jpeg|bmp|webp (labels = index of the
/// class folder in ordinal name order, files in ordinal path order) or a flat folder of images (unlabelled).
/// Alpha is dropped (not composited); no colour management is applied (pixel values as stored).
/// </summary>
public static class ImageFolder
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];
    const int ChunkImages = 256;

    /// <summary>
    /// The most pixels an image file may claim per byte of its size: a 1-bit PNG deflated at zlib's maximum ratio
    /// (1032:1) holds about 8,300 pixels per byte. A header claiming more is lying, and is refused before any buffer is made.
    /// </summary>
    public const long MaxPixelsPerFileByte = 8300;

    public static ImageDataset Load(string root, ImageFolderOptions? options = null)
    {
        options ??= new ImageFolderOptions();
        if (options.Channels is not (0 or 1 or 3)) throw new UnsupException($"image channels must be 1, 3 or auto, not {options.Channels}");
        if (options.Size is <= 0) throw new UnsupException($"image size must be positive, not {options.Size}");
        var (files, labels, classNames) = List(root);

        var sizes = new (int w, int h)[files.Length];
        ParallelDo(files.Length, options, i => sizes[i] = ReadSize(files[i]));
        int outW, outH;
        if (options.Size is int s) outW = outH = s;
        else
        {
            (outW, outH) = sizes[0];
            int odd = Array.FindIndex(sizes, z => z != sizes[0]);
            if (odd >= 0)
                throw UnsupException.ForFile(files[odd], $"is {sizes[odd].w}x{sizes[odd].h} but {files[0]} is {outW}x{outH}: images of different sizes need a fixed resize (image size option)");
        }

        using var scope = torch.NewDisposeScope();
        var images = torch.empty([files.Length, 3, outH, outW], ScalarType.Byte);
        long perImage = 4L * outW * outH;
        var buffer = new byte[checked(Math.Min(files.Length, ChunkImages) * perImage)];
        for (int start = 0; start < files.Length; start += ChunkImages)
        {
            int k = Math.Min(ChunkImages, files.Length - start);
            ParallelDo(k, options, j => DecodeInto(files[start + j], outW, outH, options.Size != null, buffer.AsSpan((int)(j * perImage), (int)perImage)));
            using var inner = torch.NewDisposeScope();
            var rgba = torch.tensor(k * perImage == buffer.LongLength ? buffer : buffer[..(int)(k * perImage)], [k, outH, outW, 4]);
            images.narrow(0, start, k).copy_(rgba.narrow(3, 0, 3).permute(0, 3, 1, 2));
        }

        var result = ToChannels(images, options.Channels);
        string name = "folder:" + Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        return new ImageDataset(result, labels, classNames, files, name);
    }

    /// <summary>The images under <paramref name="root"/> with their labels (null for a flat folder) and class names.</summary>
    public static (string[] files, long[]? labels, string[] classNames) List(string root)
    {
        if (!Directory.Exists(root)) throw UnsupException.ForFile(root, "folder not found");
        var top = ImagesIn(root, SearchOption.TopDirectoryOnly);
        var subdirs = Directory.GetDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .Select(d => (dir: d, files: ImagesIn(d, SearchOption.AllDirectories)))
            .ToArray();
        var classes = subdirs.Where(c => c.files.Length > 0).ToArray();
        string kinds = string.Join(", ", Extensions);
        if (classes.Length > 0 && top.Length > 0)
            throw UnsupException.ForFile(root, $"holds both images ({Path.GetFileName(top[0])}) and class folders ({Path.GetFileName(classes[0].dir)}/): use either one folder per class or a flat folder of images");
        if (classes.Length > 0)
        {
            var empty = subdirs.Where(c => c.files.Length == 0).Select(c => Path.GetFileName(c.dir)).ToArray();
            if (empty.Length > 0)
                throw UnsupException.ForFile(root, $"class folder(s) {string.Join(", ", empty)} hold no images ({kinds}): remove them or add images");
            var files = classes.SelectMany(c => c.files).ToArray();
            var labels = classes.SelectMany((c, i) => Enumerable.Repeat((long)i, c.files.Length)).ToArray();
            return (files, labels, classes.Select(c => Path.GetFileName(c.dir)).ToArray());
        }
        if (top.Length > 0) return (top, null, []);
        throw UnsupException.ForFile(root, $"no images ({kinds}) found, neither directly nor in class sub-folders");
    }

    static string[] ImagesIn(string dir, SearchOption option) =>
        Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = option == SearchOption.AllDirectories, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden })
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFileName(f).StartsWith('.'))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();

    static (int, int) ReadSize(string file)
    {
        using var codec = OpenCodec(file);
        return (codec.Info.Width, codec.Info.Height);
    }

    static SKCodec OpenCodec(string file)
    {
        SKCodec? codec;
        try { codec = SKCodec.Create(file, out _); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(file, $"cannot read ({e.Message})", e); }
        if (codec == null) throw UnsupException.ForFile(file, "cannot decode: not a PNG/JPEG/BMP/WebP image, or corrupt");
        if (codec.Info.Width <= 0 || codec.Info.Height <= 0) { codec.Dispose(); throw UnsupException.ForFile(file, "image has no pixels"); }
        int w = codec.Info.Width, h = codec.Info.Height;
        long size = new FileInfo(file).Length;
        if ((long)w * h > MaxPixelsPerFileByte * size)
        {
            codec.Dispose();
            throw UnsupException.ForFile(file, $"corrupt: the header claims {w}x{h} pixels, more than a {size}-byte image file can hold");
        }
        return codec;
    }

    /// <summary>Decodes one image as tightly packed RGBA rows of outW x outH into <paramref name="dest"/>.</summary>
    static void DecodeInto(string file, int outW, int outH, bool resize, Span<byte> dest)
    {
        using var codec = OpenCodec(file);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var rc = codec.GetPixels(info, bitmap.GetPixels());
        if (rc != SKCodecResult.Success)
            throw UnsupException.ForFile(file, $"cannot decode ({rc}): truncated or corrupt image");
        if (!resize)
        {
            CopyRows(bitmap, dest);
            return;
        }
        int w = info.Width, h = info.Height, side = Math.Min(w, h);
        using var square = new SKBitmap();
        if (!bitmap.ExtractSubset(square, SKRectI.Create((w - side) / 2, (h - side) / 2, side, side)))
            throw UnsupException.ForFile(file, "cannot crop the image");
        if (side == outW) { CopyRows(square, dest); return; }
        // Skia's high-quality choice: mipmapped bilinear when shrinking (no aliasing), Mitchell cubic when enlarging
        var sampling = side > outW ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear) : new SKSamplingOptions(SKCubicResampler.Mitchell);
        using var scaled = new SKBitmap(new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        if (!square.ScalePixels(scaled, sampling)) throw UnsupException.ForFile(file, "cannot resize the image");
        CopyRows(scaled, dest);
    }

    static void CopyRows(SKBitmap bitmap, Span<byte> dest)
    {
        using var pixmap = bitmap.PeekPixels();
        var src = pixmap.GetPixelSpan();
        int rowBytes = pixmap.RowBytes, tight = pixmap.Width * 4;
        for (int y = 0; y < pixmap.Height; y++) src.Slice(y * rowBytes, tight).CopyTo(dest.Slice(y * tight, tight));
    }

    static Tensor ToChannels(Tensor rgb, int channels)
    {
        if (channels == 3) return rgb;
        if (channels == 0)
        {
            using var scope = torch.NewDisposeScope();
            bool gray = rgb.narrow(1, 0, 1).eq(rgb.narrow(1, 1, 1)).logical_and(rgb.narrow(1, 0, 1).eq(rgb.narrow(1, 2, 1))).all().item<bool>();
            if (!gray) return rgb;
            return rgb.narrow(1, 0, 1).contiguous().MoveToOuterDisposeScope();
        }
        using (torch.NewDisposeScope())
        {
            var w = torch.tensor(new float[] { 0.299f, 0.587f, 0.114f }).reshape(1, 3, 1, 1);
            return (rgb.to_type(ScalarType.Float32) * w).sum(1, keepdim: true).round().clamp(0, 255).to_type(ScalarType.Byte).MoveToOuterDisposeScope();
        }
    }

    static void ParallelDo(int count, ImageFolderOptions options, Action<int> body)
    {
        var po = new ParallelOptions { MaxDegreeOfParallelism = options.MaxThreads ?? Environment.ProcessorCount };
        try { Parallel.For(0, count, po, body); }
        catch (AggregateException ae)
        {
            var first = ae.Flatten().InnerExceptions.OrderBy(e => e is UnsupException ? 0 : 1).First();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
