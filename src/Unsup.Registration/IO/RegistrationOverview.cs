using SkiaSharp;
using Unsup.IO;
using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// One PNG to judge a registration at a glance: for the middle slice along each axis (rows), the fixed,
/// moving and moved images, |fixed − moved|, the deformation grid and the det J map (blue &lt; 1 &lt; red, black ≤ 0).
/// </summary>
public static class RegistrationOverview
{
    const int GridSpacing = 8;

    /// <param name="fixedImage">[X, Y, Z] float</param>
    /// <param name="forward">[1, 3, X, Y, Z] displacement, voxels, channel 0 along the last axis</param>
    public static void Write(string path, Tensor fixedImage, Tensor movingImage, Tensor movedImage, Tensor forward, int scale = 2)
    {
        using var scope = NewDisposeScope();
        var f = MinMax(fixedImage); var m = MinMax(movingImage); var w = MinMax(movedImage);
        var detJ = JacobianDeterminant.Compute(forward)[0]; // one voxel shorter per axis (forward differences)
        var shape = fixedImage.shape;
        string[] titles = ["fixed", "moving", "moved", "|fixed - moved|", "grid", "det J"];
        var rows = new List<SKBitmap[]>();
        for (int axis = 0; axis < 3; axis++)
        {
            long mid = shape[axis] / 2;
            Tensor S(Tensor t) => t.select(axis, mid).t().flip(0); // second remaining axis upward, like a viewer
            var u = forward[0].select(axis + 1, mid);               // [3, a, b]
            // in-plane displacement components: channel c moves along array axis 2 - c
            int[] planeAxes = Enumerable.Range(0, 3).Where(a => a != axis).ToArray();
            var du = u[2 - planeAxes[0]]; var dv = u[2 - planeAxes[1]];
            rows.Add([
                Gray(S(f)), Gray(S(m)), Gray(S(w)), Gray(S((f - w).abs())),
                Grid(du.data<float>().ToArray(), dv.data<float>().ToArray(), (int)du.shape[0], (int)du.shape[1]),
                DetJ(S(detJ)),
            ]);
        }
        int cw = rows.Max(r => r.Max(b => b.Width)) * scale, ch0 = 16;
        int[] rh = rows.Select(r => r.Max(b => b.Height) * scale).ToArray();
        using var canvasBmp = new SKBitmap(cw * titles.Length, ch0 + rh.Sum());
        using (var canvas = new SKCanvas(canvasBmp))
        {
            canvas.Clear(SKColors.Black);
            using var font = new SKFont(SKTypeface.Default, 12);
            using var paint = new SKPaint { Color = SKColors.White, IsAntialias = true };
            for (int c = 0; c < titles.Length; c++) canvas.DrawText(titles[c], c * cw + 4, 12, font, paint);
            int y = ch0;
            for (int r = 0; r < rows.Count; r++)
            {
                for (int c = 0; c < titles.Length; c++)
                {
                    var b = rows[r][c];
                    canvas.DrawBitmap(b, new SKRect(c * cw, y, c * cw + b.Width * scale, y + b.Height * scale));
                    b.Dispose();
                }
                y += rh[r];
            }
        }
        using var data = canvasBmp.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }

    static Tensor MinMax(Tensor t)
    {
        var lo = t.min(); var hi = t.max();
        return (t - lo) / (hi - lo).clamp_min(1e-8);
    }

    static SKBitmap Gray(Tensor slice)
    {
        int h = (int)slice.shape[0], w = (int)slice.shape[1];
        var v = (slice.clamp(0, 1) * 255).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(v, 0, bmp.GetPixels(), v.Length);
        return bmp;
    }

    static SKBitmap DetJ(Tensor slice)
    {
        int h = (int)slice.shape[0], w = (int)slice.shape[1];
        // log2 det J in [-1, 1] → blue..white..red; folds (det J ≤ 0) black.
        var l = slice.clamp_min(1e-6).log2().clamp(-1, 1);
        var pos = l.clamp_min(0); var neg = (-l).clamp_min(0);
        var r = 1 - neg; var g = 1 - pos - neg; var b = 1 - pos;
        var folded = slice <= 0;
        var rgba = stack([r, g.clamp_min(0), b, ones_like(r)], -1).masked_fill(folded.unsqueeze(-1) & (arange(4) < 3), 0);
        var bytes = (rgba * 255).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, bmp.GetPixels(), bytes.Length);
        return bmp;
    }

    /// <summary>Deformed grid lines: points (i + du, j + dv) on every GridSpacing-th row and column of the slice.</summary>
    static SKBitmap Grid(float[] du, float[] dv, int na, int nb)
    {
        // displayed like the slices: x = a (first in-plane axis), y = nb - 1 - b
        var bmp = new SKBitmap(na, nb);
        using var canvas = new SKCanvas(bmp);
        canvas.Clear(SKColors.Black);
        using var paint = new SKPaint { Color = SKColors.LightGreen, StrokeWidth = 0.6f, IsAntialias = true, Style = SKPaintStyle.Stroke };
        SKPoint P(int a, int b) => new(a + du[a * nb + b], nb - 1 - (b + dv[a * nb + b]));
        for (int a = 0; a < na; a += GridSpacing)
            using (var path = new SKPath())
            {
                path.MoveTo(P(a, 0));
                for (int b = 1; b < nb; b++) path.LineTo(P(a, b));
                canvas.DrawPath(path, paint);
            }
        for (int b = 0; b < nb; b += GridSpacing)
            using (var path = new SKPath())
            {
                path.MoveTo(P(0, b));
                for (int a = 1; a < na; a++) path.LineTo(P(a, b));
                canvas.DrawPath(path, paint);
            }
        return bmp;
    }
}
