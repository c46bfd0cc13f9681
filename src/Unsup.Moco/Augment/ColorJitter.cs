using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// torchvision's ColorJitter applied with probability P (RandomApply), each image with its own factors:
/// brightness b ~ U[max(0, 1−B), 1+B]: x·b; contrast c: c·x + (1−c)·mean(gray(x)); saturation s: s·x + (1−s)·gray(x);
/// hue h ~ U[−H, H]: rotate the HSV hue by h; each result clamped to [0, 1]. Like torchvision, the four operations
/// run in a random order drawn per image (<see cref="RandomOrder"/>; false = fixed b, c, s, h and 4x less work).
/// On 1-channel images only brightness and contrast apply (saturation and hue have no meaning there).
/// </summary>
public sealed class ColorJitter(double brightness = 0.4, double contrast = 0.4, double saturation = 0.4, double hue = 0.1, double p = 0.8)
    : IBatchTransform
{
    public double Brightness { get; } = brightness;
    public double Contrast { get; } = contrast;
    public double Saturation { get; } = saturation;
    public double Hue { get; } = hue <= 0.5 && hue >= 0 ? hue : throw new ArgumentOutOfRangeException(nameof(hue), "hue must be in [0, 0.5]");
    public double P { get; } = p;
    public bool RandomOrder { get; init; } = true;

    public Tensor Apply(Tensor images, Generator? generator)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0];
        bool rgb = images.shape[1] == 3;
        var apply = Draw.Bernoulli(n, P, generator);
        // identity factors for images that skip the jitter: blending with ratio 1 is exact
        var b = where(apply, Draw.Uniform(n, Math.Max(0, 1 - Brightness), 1 + Brightness, generator), 1.0);
        var c = where(apply, Draw.Uniform(n, Math.Max(0, 1 - Contrast), 1 + Contrast, generator), 1.0);
        var s = where(apply, Draw.Uniform(n, Math.Max(0, 1 - Saturation), 1 + Saturation, generator), 1.0);
        var h = where(apply, Draw.Uniform(n, -Hue, Hue, generator), 0.0);
        var order = RandomOrder ? rand([n, 4], dtype: ScalarType.Float64, generator: generator).argsort(1)
                                : arange(4, dtype: ScalarType.Int64).expand(n, 4);

        var x = images;
        for (int slot = 0; slot < 4; slot++)
        {
            var op = order[.., slot];
            for (int kind = 0; kind < 4; kind++)
            {
                if (!rgb && kind >= 2) continue;
                var mine = op.eq(kind);
                if (!mine.any().item<bool>()) continue;
                x = kind switch
                {
                    0 => AdjustBrightness(x, where(mine, b, 1.0)),
                    1 => AdjustContrast(x, where(mine, c, 1.0)),
                    2 => AdjustSaturation(x, where(mine, s, 1.0)),
                    _ => AdjustHue(x, where(mine, h, 0.0)),
                };
            }
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>x·factor, clamped (torchvision adjust_brightness); factor [N], one per image.</summary>
    public static Tensor AdjustBrightness(Tensor x, Tensor factor) => Blend(x, zeros_like(x), Draw.PerImage(factor, x));

    /// <summary>factor·x + (1−factor)·mean(gray(x)), clamped (torchvision adjust_contrast).</summary>
    public static Tensor AdjustContrast(Tensor x, Tensor factor) => Blend(x, MeanGray(x), Draw.PerImage(factor, x));

    /// <summary>factor·x + (1−factor)·gray(x), clamped (torchvision adjust_saturation); RGB only.</summary>
    public static Tensor AdjustSaturation(Tensor x, Tensor factor) => Blend(x, ColorSpace.Grayscale(x), Draw.PerImage(factor, x));

    /// <summary>Rotates the HSV hue by shift ∈ [−0.5, 0.5] (torchvision adjust_hue); images with shift 0 are returned bit for bit.</summary>
    public static Tensor AdjustHue(Tensor x, Tensor shift)
    {
        using var scope = NewDisposeScope();
        var hsv = ColorSpace.RgbToHsv(x);
        var hueShifted = (hsv[.., ..1] + Draw.PerImage(shift, x)).remainder(1.0);
        var rotated = ColorSpace.HsvToRgb(cat([hueShifted, hsv[.., 1..]], 1));
        // the HSV round trip is not exact: untouched images keep their pixels
        var selected = shift.ne(0).to(x.device).view(-1, 1, 1, 1);
        return where(selected, rotated, x).MoveToOuterDisposeScope();
    }

    static Tensor Blend(Tensor x, Tensor other, Tensor ratio) => (ratio * x + (1.0 - ratio) * other).clamp(0.0, 1.0);

    static Tensor MeanGray(Tensor x) => (x.shape[1] == 3 ? ColorSpace.Grayscale(x) : x).mean([1, 2, 3], keepdim: true);
}
