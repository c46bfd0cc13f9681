using SkiaSharp;
using Unsup.IO;

namespace Unsup.Moco.Evaluation;

/// <summary>A confusion matrix as a PNG heat map: rows = true class, columns = predicted, colour = fraction of the row.</summary>
public static class ConfusionMatrixPng
{
    public static void Write(string path, long[,] counts, IReadOnlyList<string> classNames, string title)
    {
        int c = counts.GetLength(0);
        int cell = c <= 12 ? 56 : c <= 30 ? 28 : 12;
        int label = 120, top = 60, right = 20, bottom = 20;
        int width = label + c * cell + right, height = top + label + c * cell + bottom;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, Math.Min(13, cell * 0.35f));
        using var titleFont = new SKFont(SKTypeface.Default, 16);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var fill = new SKPaint { IsAntialias = false };
        canvas.DrawText(title, 10, 24, titleFont, ink);
        canvas.DrawText("rows: true class, columns: predicted (colour = share of the row)", 10, 44, font, ink);
        int gridTop = top + label;
        for (int i = 0; i < c; i++)
        {
            long rowTotal = 0;
            for (int j = 0; j < c; j++) rowTotal += counts[i, j];
            for (int j = 0; j < c; j++)
            {
                double share = rowTotal == 0 ? 0 : (double)counts[i, j] / rowTotal;
                byte shade = (byte)Math.Round(255 * (1 - share));
                fill.Color = new SKColor(shade, shade, 255);
                var rect = new SKRect(label + j * cell, gridTop + i * cell, label + (j + 1) * cell, gridTop + (i + 1) * cell);
                canvas.DrawRect(rect, fill);
                if (cell >= 28)
                {
                    using var text = new SKPaint { Color = share > 0.5 ? SKColors.White : SKColors.Black, IsAntialias = true };
                    canvas.DrawText(counts[i, j].ToString(), rect.MidX, rect.MidY + font.Size / 3, SKTextAlign.Center, font, text);
                }
            }
            canvas.DrawText(Short(Name(classNames, i)), label - 4, gridTop + i * cell + cell / 2f + font.Size / 3, SKTextAlign.Right, font, ink);
        }
        for (int j = 0; j < c; j++)
        {
            canvas.Save();
            canvas.Translate(label + j * cell + cell / 2f + font.Size / 3, gridTop - 4);
            canvas.RotateDegrees(-90);
            canvas.DrawText(Short(Name(classNames, j)), 0, 0, SKTextAlign.Left, font, ink);
            canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }

    static string Name(IReadOnlyList<string> names, int i) => i < names.Count ? names[i] : i.ToString();
    static string Short(string s) => s.Length <= 16 ? s : s[..15] + "…";
}
