using SkiaSharp;

namespace Unsup.IO.Inspect;

/// <summary>Describes a PNG/JPEG/BMP/WebP image for <c>unsup inspect</c>.</summary>
public static class ImageSummary
{
    public static FileSummary Describe(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw UnsupException.ForFile(path, "not a decodable image (corrupt or unsupported format)");
        using var bitmap = SKBitmap.Decode(codec) ?? throw UnsupException.ForFile(path, "image data is corrupt or truncated");
        var info = codec.Info;
        return new FileSummary($"{codec.EncodedFormat} image", new List<(string, string)>
        {
            ("size", $"{info.Width}x{info.Height} (width x height)"),
            ("color type", info.ColorType.ToString()),
            ("alpha", info.AlphaType.ToString()),
        });
    }
}
