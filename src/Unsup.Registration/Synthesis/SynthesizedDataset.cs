using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// Turns a folder of whole-head label maps (e.g. SynthSeg's training_seg_*.nii.gz) into a registration data
/// set: brain label maps (extra-cerebral labels ≥ 500 and the general CSF label 24, which in these maps
/// runs around the brain and down the spinal canal, set to 0) cropped to one brain bounding box shared by all
/// subjects (each centred on its own brain, which also removes most of the translation between subjects,
/// as the usual centre-of-mass initialisation does), and a synthesised skull-stripped T1-like image for each, written as NIfTI pairs with the crop's affine.
/// </summary>
public static class SynthesizedDataset
{
    /// <summary>Label ids from this value up are extra-cerebral in SynthSeg's maps (skull, scalp, eyes, ...).</summary>
    public const long FirstNonBrainLabel = 500;
    /// <summary>FreeSurfer's "CSF" (outside the ventricles): removed like the skull, as skull stripping does.</summary>
    public const long OuterCsfLabel = 24;

    public sealed record Written(IReadOnlyList<string> Images, IReadOnlyList<string> Labels, IReadOnlyList<BoundingBox> Boxes);

    /// <param name="labelMaps">label map files (one grid for all)</param>
    /// <param name="outDir">receives images/NAME.nii.gz and labels/NAME.nii.gz</param>
    /// <param name="seed">subject k uses seed + k</param>
    /// <param name="margin">voxels of background kept around the brain</param>
    public static Written Write(IReadOnlyList<string> labelMaps, string outDir, LabelImageSynthesizer synth, long seed = 0, int margin = 4)
    {
        var maps = new List<(NiftiImage Image, Tensor Brain)>();
        try
        {
            foreach (var path in labelMaps)
            {
                var img = NiftiReader.Read(path);
                if (maps.Count > 0 && !img.Shape.SequenceEqual(maps[0].Image.Shape))
                    throw UnsupException.ForFile(path, $"is {string.Join("x", img.Shape)} but {labelMaps[0]} is {string.Join("x", maps[0].Image.Shape)}");
                var lab = img.Data.to(ScalarType.Int64);
                if (lab.dim() != 3) throw UnsupException.ForFile(path, $"is not a 3D label map ({string.Join("x", img.Shape)})");
                maps.Add((img, where((lab >= FirstNonBrainLabel).logical_or(lab == OuterCsfLabel), zeros_like(lab), lab)));
            }
            var own = maps.Select(m => BoundingBox.Of(m.Brain > 0, margin)).ToList();
            var size = Enumerable.Range(0, 3).Select(i => own.Max(b => b.Size[i])).ToArray();
            var boxes = own.Select(b => b.Recentered(size, maps[0].Image.Shape)).ToList();
            Directory.CreateDirectory(Path.Combine(outDir, "images"));
            Directory.CreateDirectory(Path.Combine(outDir, "labels"));
            var images = new List<string>();
            var labels = new List<string>();
            for (int k = 0; k < maps.Count; k++)
            {
                using var scope = NewDisposeScope();
                var (src, brain) = maps[k];
                var box = boxes[k];
                var cropped = box.Crop(brain).to(ScalarType.Int32);
                var image = synth.Synthesize(cropped, seed + k);
                var affine = box.CropAffine(src.Affine);
                var name = Path.GetFileName(labelMaps[k]);
                var imagePath = Path.Combine(outDir, "images", name);
                var labelPath = Path.Combine(outDir, "labels", name);
                NiftiWriter.Write(imagePath, NiftiImage.Create(image, affine, "unsup synthesised T1-like"));
                NiftiWriter.Write(labelPath, NiftiImage.Create(cropped, affine, "brain labels", NiftiIntent.Label));
                images.Add(imagePath);
                labels.Add(labelPath);
            }
            return new Written(images, labels, boxes);
        }
        finally
        {
            foreach (var (img, brain) in maps) { img.Dispose(); brain.Dispose(); }
        }
    }
}
