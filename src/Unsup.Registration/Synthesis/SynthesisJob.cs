using Unsup.IO.Nifti;
using Unsup.Registration.Training;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>What `unsup synth` makes: one image per label map, and the label map on the image's grid.</summary>
public sealed record SynthesisRequest
{
    public required IReadOnlyList<string> LabelMaps { get; init; }
    /// <summary>One label map: the image file. Several: a folder that receives images/NAME and labels/NAME.</summary>
    public required string Out { get; init; }
    /// <summary>One label map: where its (possibly cropped, downsampled or deformed) label map goes; null: not written.</summary>
    public string? OutLabels { get; init; }
    public required LabelImageSynthesizer Synthesizer { get; init; }
    public LabelMapGeometry Geometry { get; init; } = new() { KeepGrid = true };
    public RandomDeformation? Deformation { get; init; }
    /// <summary>Label map k (in the order given) uses Seed + k.</summary>
    public long Seed { get; init; }
}

public sealed record SynthesisOutput(string Image, string? Labels, long[] Shape, long Seed);

/// <summary>Reads label maps, brings them to the requested grid, synthesises and writes NIfTI images (with the maps' affines).</summary>
public static class SynthesisJob
{
    public static IReadOnlyList<SynthesisOutput> Run(SynthesisRequest q, Action<SynthesisOutput>? written = null)
    {
        bool single = q.LabelMaps.Count == 1 && !Directory.Exists(q.Out) && ImageList.IsNifti(q.Out);
        if (q.LabelMaps.Count > 1 && ImageList.IsNifti(q.Out))
            throw UnsupException.ForFile(q.Out, $"is one image file but {q.LabelMaps.Count} label maps were given; give a folder for --out");
        using var maps = LabelMapPreparation.Load(q.LabelMaps, q.Geometry);
        var outputs = new List<SynthesisOutput>();
        for (int k = 0; k < maps.Count; k++)
        {
            using var scope = NewDisposeScope();
            long seed = q.Seed + k;
            var labels = maps.Labels[k];
            Tensor image;
            if (q.Deformation is null) image = q.Synthesizer.Synthesize(labels, seed);
            // flip along each map's own left-right axis, as SynthSeg reads it from the affine
            else (image, labels) = q.Synthesizer.Synthesize(labels, seed, q.Deformation with { FlipAxis = LeftRightLabels.Axis(maps.Affines[k], labels.shape.Length) });
            string imagePath, labelPath;
            if (single) { imagePath = q.Out; labelPath = q.OutLabels ?? ""; }
            else
            {
                string name = maps.Names[k];
                imagePath = Path.Combine(q.Out, "images", name);
                labelPath = Path.Combine(q.Out, "labels", name);
            }
            var affine = maps.Affines[k];
            Write(imagePath, NiftiImage.Create(image, affine, $"unsup synth seed {seed}"));
            if (labelPath.Length > 0) Write(labelPath, NiftiImage.Create(labels.to(ScalarType.Int32), affine, "unsup synth labels", NiftiIntent.Label));
            var o = new SynthesisOutput(imagePath, labelPath.Length > 0 ? labelPath : null, labels.shape, seed);
            outputs.Add(o);
            written?.Invoke(o);
        }
        return outputs;
    }

    static void Write(string path, NiftiImage image)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw UnsupException.ForFile(dir, $"cannot create the output folder: {e.Message}"); }
        NiftiWriter.Write(path, image);
    }
}
