using System.Runtime.InteropServices;
using System.Globalization;
using Unsup.Moco.Augment;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Augment;

public class AugmentationTests
{
    static Tensor Images(int n, int c, int h, int w, int seed = 0)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, 256, [n, c, h, w], dtype: ScalarType.Byte, generator: g);
    }

    static float[] Data(Tensor t) => t.detach().cpu().contiguous().to(ScalarType.Float32).data<float>().ToArray();

    static string PyList(Tensor t) => "[" + string.Join(",", Data(t).Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    static float[] ParseFloats(string s) => s.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    static void Close(float[] expected, float[] actual, float tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= tol, $"max abs difference {worst} > {tol}");
    }

    [Theory]
    [InlineData("v1", 3)]
    [InlineData("v2", 3)]
    [InlineData("cifar", 3)]
    [InlineData("v2", 1)]
    [InlineData("cifar", 1)]
    public void Views_keep_shape_and_value_range(string preset, int channels)
    {
        using var x = Images(6, channels, 20, 24);
        var aug = MocoAugmentation.Create(preset, 16, Normalize.ForChannels(channels));
        using var v = aug.View(x, new Generator(1), normalize: false);
        Assert.Equal(new long[] { 6, channels, 16, 16 }, v.shape);
        Assert.Equal(ScalarType.Float32, v.dtype);
        Assert.True(v.min().item<float>() >= 0f && v.max().item<float>() <= 1f);
        Assert.False(v.isnan().any().item<bool>());
        var (a, b) = aug.TwoViews(x, new Generator(1));
        Assert.Equal(v.shape, a.shape);
        Assert.Equal(v.shape, b.shape);
    }

    [Fact]
    public void Same_seed_reproduces_the_views_and_another_seed_does_not()
    {
        using var x = Images(5, 3, 20, 20);
        var aug = MocoAugmentation.Create("v2", 16, Normalize.ImageNet);
        var (a1, b1) = aug.TwoViews(x, new Generator(42));
        var (a2, b2) = aug.TwoViews(x, new Generator(42));
        Assert.True(a1.equal(a2).all().item<bool>() && b1.equal(b2).all().item<bool>());
        Assert.False(a1.allclose(b1));
        var (a3, _) = aug.TwoViews(x, new Generator(43));
        Assert.False(a1.allclose(a3));
    }

    [Fact]
    public void Each_image_gets_its_own_parameters()
    {
        // 8 copies of one image: per-call parameters would give 8 identical views
        using var one = Images(1, 3, 24, 24);
        using var x = one.expand(8, 3, 24, 24).contiguous();
        foreach (var preset in MocoAugmentation.Presets)
        {
            var aug = MocoAugmentation.Create(preset, 16, Normalize.ImageNet);
            using var v = aug.View(x, new Generator(3));
            int distinct = Enumerable.Range(0, 8).Select(i => string.Join(",", Data(v[i]).Take(64).Select(f => f.ToString("F4")))).Distinct().Count();
            Assert.True(distinct >= 7, $"{preset}: only {distinct} distinct views of 8");
        }
    }

    [Fact]
    public void Crop_boxes_fit_and_follow_area_and_ratio_ranges()
    {
        var crop = new RandomResizedCrop(16, 0.2, 1.0);
        using var boxes = crop.SampleBoxes(2000, 30, 40, new Generator(5));
        var b = boxes.data<double>().ToArray();
        int fallback = 0;
        for (int i = 0; i < 2000; i++)
        {
            double top = b[4 * i], left = b[4 * i + 1], h = b[4 * i + 2], w = b[4 * i + 3];
            Assert.True(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= 30 && left + w <= 40, $"box {i} outside");
            Assert.Equal(Math.Floor(top), top);
            if (h == 30 && w == 40) { fallback++; continue; }
            double area = h * w / 1200.0, ratio = w / h;
            Assert.InRange(area, 0.2 * 0.8, 1.0 * 1.1);    // rounding of w and h
            Assert.InRange(ratio, 0.75 * 0.85, 4.0 / 3 * 1.15);
        }
        Assert.True(fallback < 200, $"{fallback} fallbacks");
    }

    [Fact]
    public void Full_box_crop_at_same_size_is_the_identity()
    {
        using var x = Images(2, 3, 12, 12);
        using var f = MocoAugmentation.ToUnitFloat(x);
        var crop = new RandomResizedCrop(12);
        using var boxes = tensor(new double[] { 0, 0, 12, 12, 0, 0, 12, 12 }, [2, 4]);
        using var y = crop.Crop(f, boxes);
        Assert.True(y.allclose(f, atol: 1e-5));
    }

    [SkippableFact]
    public void Crop_equals_torchvision_resized_crop_bilinear_antialiased()
    {
        using var x = MocoAugmentation.ToUnitFloat(Images(1, 3, 10, 14));
        var crop = new RandomResizedCrop(8);
        using var boxes = tensor(new double[] { 2, 3, 6, 9 }, [1, 4]);
        using var y = crop.Crop(x, boxes);
        var py = TestData.Python($$"""
            import torch
            import torchvision.transforms.functional as F
            x = torch.tensor({{PyList(x)}}).view(1, 3, 10, 14)
            y = F.resized_crop(x, 2, 3, 6, 9, [8, 8], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
            print(" ".join(repr(float(v)) for v in y.flatten()))
            """, "torch", "torchvision");
        Close(ParseFloats(py), Data(y), 1e-5f);
    }

    /// <summary>
    /// Large crops shrunk to the output size, against torchvision's resized_crop on PIL images (the official loaders'
    /// path: PIL's antialiased bilinear resize, uint8 out) and on tensors with antialias=True (float).
    /// </summary>
    [SkippableTheory]
    [InlineData(96, 200)]
    [InlineData(224, 500)]
    [InlineData(32, 60)]
    public void Shrinking_crops_match_torchvision_on_PIL_images(int size, int image)
    {
        using var dir = TestData.Temp();
        using var imgs = Images(3, 3, image, image, seed: 6);
        // boxes shrunk 1.3x to 2.3x, one a non-square box near the corner
        using var boxes = tensor(new double[] { 0, 0, image, image, image / 5, image / 7, (int)(size * 1.3), (int)(size * 1.6), image / 2, 3, image / 2, image - 5 }, [3, 4]);
        var crop = new RandomResizedCrop(size);
        using var ours = crop.Crop(imgs.to(ScalarType.Float32), boxes);
        File.WriteAllBytes(dir.File("in.u8"), imgs.permute(0, 2, 3, 1).contiguous().data<byte>().ToArray());
        var b = boxes.to(ScalarType.Int64).data<long>().ToArray();
        TestData.Python($$"""
            import numpy as np, torch
            from PIL import Image
            import torchvision.transforms.functional as F
            x = np.fromfile(r'{{dir.File("in.u8")}}', dtype=np.uint8).reshape(3, {{image}}, {{image}}, 3)
            b = np.array([{{string.Join(", ", b)}}]).reshape(3, 4)
            pil = np.stack([np.asarray(F.resized_crop(Image.fromarray(x[i]), *map(int, b[i]), [{{size}}, {{size}}], F.InterpolationMode.BILINEAR)) for i in range(3)])
            pil.astype(np.uint8).tofile(r'{{dir.File("pil.u8")}}')
            t = torch.from_numpy(x).permute(0, 3, 1, 2).float()
            ten = torch.stack([F.resized_crop(t[i], *map(int, b[i]), [{{size}}, {{size}}], F.InterpolationMode.BILINEAR, antialias=True) for i in range(3)])
            ten.numpy().astype(np.float32).tofile(r'{{dir.File("tensor.f32")}}')
            """, "numpy", "PIL", "torch", "torchvision");
        using var pil = tensor(File.ReadAllBytes(dir.File("pil.u8"))).view(3, size, size, 3).permute(0, 3, 1, 2).to(ScalarType.Float32);
        var tv = File.ReadAllBytes(dir.File("tensor.f32"));
        using var ten = tensor(MemoryMarshal.Cast<byte, float>(tv).ToArray()).view(3, 3, size, size);
        // float against float: the same weights (float32 sums over up to 500 taps: within 0.01 grey levels); against PIL: its uint8 rounding after each of its two passes
        Assert.True((ours - ten).abs().max().item<float>() <= 0.01f, $"max |ours - torchvision tensor| = {(ours - ten).abs().max().item<float>()}");
        Assert.True((ours - pil).abs().max().item<float>() <= 1.0f, $"max |ours - PIL| = {(ours - pil).abs().max().item<float>()} grey levels");
        // the old sampling (bilinear at the sample points, no antialiasing) was far from both on noise images
        using var plain = nn.functional.interpolate(imgs.to(ScalarType.Float32).narrow(0, 0, 1), [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.True((plain - pil.narrow(0, 0, 1)).abs().mean().item<float>() > 10f);
    }

    [SkippableFact]
    public void Colour_operations_equal_torchvision()
    {
        using var x = MocoAugmentation.ToUnitFloat(Images(2, 3, 6, 6, seed: 2));
        using var f = tensor(new double[] { 0.7, 1.3 });
        using var hue = tensor(new double[] { -0.08, 0.35 });
        using var br = ColorJitter.AdjustBrightness(x, f);
        using var co = ColorJitter.AdjustContrast(x, f);
        using var sa = ColorJitter.AdjustSaturation(x, f);
        using var hu = ColorJitter.AdjustHue(x, hue);
        using var gr = ColorSpace.Grayscale(x);
        var py = TestData.Python($$"""
            import torch
            import torchvision.transforms.functional as F
            x = torch.tensor({{PyList(x)}}).view(2, 3, 6, 6)
            out = []
            for fn, a in ((F.adjust_brightness, (0.7, 1.3)), (F.adjust_contrast, (0.7, 1.3)), (F.adjust_saturation, (0.7, 1.3)), (F.adjust_hue, (-0.08, 0.35))):
                out.append(torch.stack([fn(x[i], a[i]) for i in range(2)]))
            out.append(F.rgb_to_grayscale(x))
            print(" ".join(repr(float(v)) for v in torch.cat([o.flatten() for o in out])))
            """, "torch", "torchvision");
        var all = ParseFloats(py);
        int m = 2 * 3 * 36;
        Close(all[..m], Data(br), 1e-6f);
        Close(all[m..(2 * m)], Data(co), 1e-3f);      // torchvision's luma uses 0.2989 for red
        Close(all[(2 * m)..(3 * m)], Data(sa), 1e-3f);
        Close(all[(3 * m)..(4 * m)], Data(hu), 1e-5f);
        Close(all[(4 * m)..], Data(gr), 1e-3f);
    }

    [Fact]
    public void Blur_impulse_response_has_variance_sigma_squared_and_reaches_past_a_tenth_of_the_image()
    {
        // PIL's extended box filter is built so that three passes have variance exactly σ²
        using var x = zeros(3, 1, 28, 28);
        using (no_grad()) x[.., .., 14, 14] = tensor(1f);
        using var sigma = tensor(new double[] { 0.5, 1.2, 2.0 });
        using var y = GaussianBlur.Blur(x.to(ScalarType.Float64), sigma);
        using var row = y[.., 0, 14];                                // [3, 28]: the horizontal profile through the impulse
        using var pos = arange(28, dtype: ScalarType.Float64) - 14;
        using var mass = row.sum(1);
        using var variance = (row * pos.pow(2)).sum(1) / mass;
        var v = variance.data<double>().ToArray();
        Assert.Equal(0.25, v[0], 9); Assert.Equal(1.44, v[1], 9); Assert.Equal(4.0, v[2], 9);
        Assert.Equal(1.0, y[2].sum().item<double>(), 9);
        Assert.True(row[2, 14 + 5].item<double>() > 0);             // σ = 2 reaches 5 pixels (the old 3-tap kernel at 28 px reached 1)
    }

    /// <summary>PIL's GaussianBlur (what MoCo v2's loader calls) on random uint8 images, one σ per image.</summary>
    [SkippableTheory]
    [InlineData(28)]
    [InlineData(32)]
    [InlineData(96)]
    [InlineData(224)]
    public void Blur_matches_PIL_gaussian_blur_as_moco_v2_uses_it(int size)
    {
        double[] sigmas = [0.1, 0.5, 1.0, 1.5, 2.0];
        using var dir = TestData.Temp();
        using var imgs = Images(sigmas.Length, 3, size, size, seed: 5);      // uint8 [N, 3, S, S]
        File.WriteAllBytes(dir.File("in.u8"), imgs.permute(0, 2, 3, 1).contiguous().data<byte>().ToArray());
        TestData.Python($$"""
            import numpy as np
            from PIL import Image, ImageFilter
            x = np.fromfile({{Py(dir.File("in.u8"))}}, dtype=np.uint8).reshape({{sigmas.Length}}, {{size}}, {{size}}, 3)
            s = [{{string.Join(", ", sigmas.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}}]
            y = np.stack([np.asarray(Image.fromarray(x[i]).filter(ImageFilter.GaussianBlur(radius=s[i]))) for i in range(len(s))])
            y.astype(np.uint8).tofile({{Py(dir.File("out.u8"))}})
            """, "numpy", "PIL");
        using var pil = tensor(File.ReadAllBytes(dir.File("out.u8"))).view(sigmas.Length, size, size, 3).permute(0, 3, 1, 2).to(ScalarType.Float32);
        using var ours = GaussianBlur.Blur(imgs.to(ScalarType.Float32), tensor(sigmas)) ;
        using var diff = (ours - pil).abs();
        // PIL rounds to uint8 after each of its six passes: up to 3 grey levels apart, under 1.2 on average
        Assert.True(diff.max().item<float>() <= 3.5f, $"max |ours - PIL| = {diff.max().item<float>()} grey levels");
        Assert.True(diff.mean().item<float>() <= 1.2f, $"mean |ours - PIL| = {diff.mean().item<float>()} grey levels");
        // and through the transform with p = 1 and a fixed σ
        using var x01 = MocoAugmentation.ToUnitFloat(imgs);
        using var viaTransform = new GaussianBlur(2.0, 2.0, p: 1.0).Apply(x01, new Generator(0));
        using var direct = GaussianBlur.Blur(x01, full(sigmas.Length, 2.0, dtype: ScalarType.Float64));
        Assert.True(viaTransform.allclose(direct, atol: 1e-6));
    }

    static string Py(string path) => "r'" + path + "'";

    [Fact]
    public void Skipped_blur_and_jitter_leave_images_untouched()
    {
        using var x = MocoAugmentation.ToUnitFloat(Images(4, 3, 10, 10));
        using var noBlur = new GaussianBlur(p: 0.0).Apply(x, new Generator(1));
        Assert.True(noBlur.allclose(x, atol: 1e-6));
        using var noJitter = new ColorJitter(p: 0.0).Apply(x, new Generator(1));
        Assert.True(noJitter.equal(x).all().item<bool>());
        using var gray1 = MocoAugmentation.ToUnitFloat(Images(4, 1, 10, 10));
        using var grayOut = new RandomGrayscale(1.0).Apply(gray1, new Generator(1));
        Assert.True(grayOut.equal(gray1).all().item<bool>());
        using var allGray = new RandomGrayscale(1.0).Apply(x, new Generator(1));
        Assert.True(allGray[.., 0].equal(allGray[.., 2]).all().item<bool>());
    }

    [Fact]
    public void Preview_writes_a_png()
    {
        using var dir = TestData.Temp();
        using var x = Images(3, 1, 28, 28);
        var aug = MocoAugmentation.Create("v2", 28, Normalize.FashionMnist);
        var path = dir.File("preview.png");
        AugmentationPreview.WritePng(path, x, aug, rows: 3, generator: new Generator(0), scale: 2);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        using var bmp = SkiaSharp.SKBitmap.Decode(path);
        Assert.Equal(3 * 56 + 8, bmp.Width);
        Assert.Equal(3 * 56 + 8, bmp.Height);
    }
}

[Collection(GlobalRngCollection.Name)]
public class AugmentationSeedTests
{
    [Fact]
    public void Seeding_torch_reproduces_views_drawn_from_the_default_generator()
    {
        using var g = new Generator(0);
        using var x = randint(0, 256, [5, 3, 20, 20], dtype: ScalarType.Byte, generator: g);
        var aug = MocoAugmentation.Create("v2", 16, Normalize.ImageNet);
        Unsup.TorchRuntime.Seed(9);
        using var d1 = aug.View(x);
        Unsup.TorchRuntime.Seed(9);
        using var d2 = aug.View(x);
        Assert.True(d1.equal(d2).all().item<bool>());
    }
}
