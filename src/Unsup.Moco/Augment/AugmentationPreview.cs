using SkiaSharp;
using Unsup.IO;
using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>Writes a PNG grid to eyeball an augmentation: one row per image: original, view 1, view 2.</summary>
public static class AugmentationPreview
{
    /// <param name="path">PNG file (written atomically).</param>
    /// <param name="images">uint8 or [0,1] float [N, C, H, W]; the first <paramref name="rows"/> are shown.</param>
    /// <param name="scale">Integer zoom so small images stay visible.</param>
    public static void WritePng(string path, Tensor images, MocoAugmentation augmentation, int rows = 8, Generator? generator = null, int scale = 4)
    {
        using var scope = NewDisposeScope();
        var src = MocoAugmentation.ToUnitFloat(images[..Math.Min(rows, (int)images.shape[0])]).cpu();
        long n = src.shape[0], c = src.shape[1];
        int s = augmentation.Size;
        var original = nn.functional.interpolate(src, [s, s], mode: InterpolationMode.Bilinear, align_corners: false);
        var v1 = augmentation.View(src, generator, normalize: false);
        var v2 = augmentation.View(src, generator, normalize: false);
        // [rows, 3 panels, C, s, s] -> [rows*s, 3*s, 3] RGB bytes
        var grid = stack([original, v1, v2], 1);
        if (c == 1) grid = grid.expand(n, 3, 3, s, s);
        var rgb = grid.permute(0, 3, 1, 4, 2).reshape(n * s, 3 * s, 3);
        var bytes = rgb.clamp(0, 1).mul(255).round().to(ScalarType.Byte).contiguous().data<byte>().ToArray();

        int gap = 2, cell = s * scale;
        int width = 3 * cell + 4 * gap, height = (int)n * cell + ((int)n + 1) * gap;
        using var bmp = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bmp.Erase(new SKColor(40, 40, 40));
        for (int y = 0; y < n * s; y++)
            for (int x = 0; x < 3 * s; x++)
            {
                int o = (y * 3 * s + x) * 3;
                var color = new SKColor(bytes[o], bytes[o + 1], bytes[o + 2]);
                int row = y / s, panel = x / s;
                int py = gap + row * (cell + gap) + (y % s) * scale, px = gap + panel * (cell + gap) + (x % s) * scale;
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++)
                        bmp.SetPixel(px + dx, py + dy, color);
            }
        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }
}
