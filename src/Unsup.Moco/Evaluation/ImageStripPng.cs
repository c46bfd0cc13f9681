using SkiaSharp;
using Unsup.IO;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>A row of images (uint8 [N, C, H, W], 1 or 3 channels) as one PNG, each zoomed by an integer factor, with captions.</summary>
public static class ImageStripPng
{
    public static void Write(string path, Tensor images, IReadOnlyList<string> captions, int scale = 4)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        var rgb = (c == 1 ? images.expand(-1, 3, -1, -1) : images).permute(0, 2, 3, 1).contiguous().to(ScalarType.Byte);
        var bytes = rgb.cpu().data<byte>().ToArray();
        int gap = 6, caption = 18, cw = (int)w * scale, ch = (int)h * scale;
        using var bmp = new SKBitmap((int)n * (cw + gap) + gap, ch + 2 * gap + caption, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bmp.Erase(SKColors.White);
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    long o = ((i * h + y) * w + x) * 3;
                    var color = new SKColor(bytes[o], bytes[o + 1], bytes[o + 2]);
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            bmp.SetPixel(gap + i * (cw + gap) + x * scale + dx, gap + y * scale + dy, color);
                }
        using var canvas = new SKCanvas(bmp);
        using var font = new SKFont(SKTypeface.Default, 11);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int i = 0; i < n && i < captions.Count; i++)
            canvas.DrawText(captions[i], gap + i * (cw + gap) + cw / 2f, gap + ch + caption - 4, SKTextAlign.Center, font, ink);
        canvas.Flush();
        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }
}
