using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Registration.Training;

/// <summary>
/// Subjects ready for SYMNet training, held in memory: min-max normalised images padded to a multiple
/// of 16 ([S, 1, *padded], float32) and optional label maps at the unpadded size ([S, 1, *spatial], int64).
/// The last <see cref="ValidationCount"/> subjects are held out: their ordered pairs are the validation set.
/// </summary>
public sealed class SymNetTrainingData : IDisposable
{
    public Tensor Images { get; }
    public Tensor? Labels { get; }
    public IReadOnlyList<string> Names { get; }
    public int ValidationCount { get; }
    /// <summary>Grid of the (downsampled) data before padding.</summary>
    public long[] Spatial { get; }
    public int Dims => Spatial.Length;
    public int Count => (int)Images.shape[0];
    public int TrainCount => Count - ValidationCount;
    /// <summary>Label ids Dice is averaged over (<see cref="EvaluationLabels"/>'s automatic rule unless <see cref="UseDiceLabels"/> chose).</summary>
    public IReadOnlyList<long> EvalLabels { get; private set; }

    /// <summary>Chooses the Dice labels (`--dice-labels`) among the subjects' label maps.</summary>
    public void UseDiceLabels(DiceLabelChoice choice)
    {
        if (Labels is null) return;
        EvalLabels = choice.Resolve(Enumerable.Range(0, Count).Select(i => Labels[i]));
        if (ValidationCount > 0 && EvalLabels.Count == 0)
            throw new UnsupException($"--dice-labels {choice}: no label of that set is present in every subject's map");
    }
    /// <summary>
    /// When set, every training step draws fresh images from the training subjects' label maps
    /// (<see cref="TrainingImage"/>); <see cref="Images"/> then holds one fixed synthesis per subject, used for validation.
    /// </summary>
    public LabelImageSynthesizer? Synthesizer { get; init; }
    /// <summary>With <see cref="Synthesizer"/>: a random deformation of each label map before synthesis (null = none).</summary>
    public RandomDeformation? Deformation { get; init; }

    /// <param name="images">raw intensities [S, 1, *spatial] (normalised and padded here)</param>
    /// <param name="labels">optional label maps [S, 1, *spatial]</param>
    public SymNetTrainingData(Tensor images, Tensor? labels = null, int validationCount = 0, IReadOnlyList<string>? names = null)
    {
        if (images.dim() is not (4 or 5) || images.shape[1] != 1)
            throw new ArgumentException($"images must be [S, 1, *spatial] with 2 or 3 spatial axes, got [{string.Join(", ", images.shape)}]");
        if (labels is not null && !labels.shape.SequenceEqual(images.shape))
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] and images [{string.Join(", ", images.shape)}] differ in shape");
        int s = (int)images.shape[0];
        if (validationCount < 0 || validationCount > s)
            throw new UnsupException($"--val {validationCount}: there are only {s} subjects");
        if (validationCount == 1) throw new UnsupException("--val 1: validation pairs need at least 2 held-out subjects");
        if (s - validationCount < 2) throw new UnsupException($"training pairs need at least 2 training subjects; {s} subjects with {validationCount} held out leave {s - validationCount}");
        if (validationCount > 0 && labels is null) throw new UnsupException($"--val {validationCount} needs label maps (--labels) to measure Dice");
        Spatial = images.shape.AsSpan(2).ToArray();
        Names = names ?? Enumerable.Range(0, s).Select(i => $"subject {i}").ToList();
        ValidationCount = validationCount;
        using var scope = NewDisposeScope();
        Images = SizePadding.Pad(IntensityNormalization.MinMax(images), SymNet.SizeMultiple).contiguous().DetachFromDisposeScope();
        if (labels is not null)
        {
            Labels = labels.to(ScalarType.Int64).contiguous().DetachFromDisposeScope();
            EvalLabels = EvaluationLabels.For(Enumerable.Range(0, s).Select(i => Labels[i]));
        }
        else EvalLabels = [];
    }

    /// <summary>
    /// Training from label maps alone: subject i's fixed image (validation, and training when no synthesiser is
    /// kept) is synthesised with seed <paramref name="seed"/> + i; with <paramref name="onTheFly"/> training images
    /// are synthesised afresh every step. With <paramref name="sharedContrast"/> every subject's fixed synthesis has
    /// one contrast (drawn with <paramref name="seed"/>), as scans of one protocol; otherwise each its own.
    /// </summary>
    public static SymNetTrainingData FromLabelMaps(PreparedLabelMaps maps, LabelImageSynthesizer synth, int validationCount, long seed,
        bool onTheFly = true, RandomDeformation? deformation = null, bool sharedContrast = false)
    {
        using var scope = NewDisposeScope();
        long? contrast = sharedContrast ? ~seed : null;
        var images = stack(Enumerable.Range(0, maps.Count).Select(i => synth.Synthesize(maps.Labels[i], seed + i, contrast)).ToList()).unsqueeze(1);
        return new SymNetTrainingData(images, maps.Labels.unsqueeze(1), validationCount, maps.Names)
        {
            Synthesizer = onTheFly ? synth : null,
            Deformation = onTheFly ? deformation : null,
        };
    }

    /// <summary>
    /// Subject <paramref name="index"/>'s image for a training step ([1, 1, *padded]): the stored one, or with a
    /// <see cref="Synthesizer"/> a new synthesis (and deformation) with <paramref name="seed"/>, so a step's
    /// images depend only on its seed and a resumed run sees the same ones. Two draws given the same
    /// <paramref name="contrastSeed"/> share their contrast (<see cref="LabelImageSynthesizer.Synthesize(Tensor, long, long?)"/>).
    /// </summary>
    public Tensor TrainingImage(int index, long seed, long? contrastSeed = null) => Draw(index, seed, withLabels: false, contrastSeed).Image;

    /// <summary>
    /// <see cref="TrainingImage"/> with its label map ([1, 1, *padded] int64, zero in the padding; null without
    /// label maps): the deformed map when the image was drawn from a deformed one.
    /// </summary>
    public (Tensor Image, Tensor? Labels) TrainingSample(int index, long seed, long? contrastSeed = null) => Draw(index, seed, withLabels: true, contrastSeed);

    (Tensor Image, Tensor? Labels) Draw(int index, long seed, bool withLabels, long? contrastSeed)
    {
        using var scope = NewDisposeScope();
        Tensor image;
        Tensor? labels = withLabels ? Labels?.narrow(0, index, 1) : null;
        if (Synthesizer is null || Labels is null) image = Images.narrow(0, index, 1);
        else if (Deformation is null) image = PadVolume(Synthesizer.Synthesize(Labels[index, 0], seed, contrastSeed));
        else
        {
            var (img, moved) = Synthesizer.Synthesize(Labels[index, 0], seed, Deformation, contrastSeed);
            image = PadVolume(img);
            if (withLabels) labels = moved.unsqueeze(0).unsqueeze(0);
        }
        // only when asked: padding a label map every step is a copy of the volume the official loss never reads
        var padded = labels is null ? null : SizePadding.Pad(labels, SymNet.SizeMultiple).MoveToOuterDisposeScope();
        return (image.MoveToOuterDisposeScope(), padded);
    }

    static Tensor PadVolume(Tensor volume) => SizePadding.Pad(volume.unsqueeze(0).unsqueeze(0), SymNet.SizeMultiple);

    /// <summary>
    /// Reads NIfTI images (and label maps, same order) that share one grid, 2D (X×Y or X×Y×1) or 3D,
    /// downsampled by <paramref name="downsample"/> (<see cref="Downsampling"/>). Different shapes, 4D
    /// images, label maps off the image grid or holding non-integer values are errors naming the file.
    /// </summary>
    public static SymNetTrainingData Load(IReadOnlyList<string> imagePaths, IReadOnlyList<string>? labelPaths = null,
        int validationCount = 0, int downsample = 1)
    {
        if (imagePaths.Count == 0) throw new UnsupException("no training images given");
        if (labelPaths is not null && labelPaths.Count != imagePaths.Count)
            throw new UnsupException($"{imagePaths.Count} images but {labelPaths.Count} label maps; give one label map per image, in the same order");
        using var scope = NewDisposeScope();
        var images = new List<Tensor>();
        var labels = new List<Tensor>();
        long[]? grid = null;
        for (int i = 0; i < imagePaths.Count; i++)
        {
            var path = imagePaths[i];
            var img = ReadVolume(path, "image", out var shape);
            if (grid is null) grid = shape;
            else if (!grid.SequenceEqual(shape))
                throw UnsupException.ForFile(path, $"is {Fmt(shape)} but {imagePaths[0]} is {Fmt(grid)}; all images must share one grid (resample or crop them to one size first)");
            images.Add(img.to(ScalarType.Float32));
            if (labelPaths is not null)
            {
                var lab = ReadVolume(labelPaths[i], "label map", out var lshape);
                if (!lshape.SequenceEqual(shape))
                    throw UnsupException.ForFile(labelPaths[i], $"is {Fmt(lshape)} but its image {path} is {Fmt(shape)}; a label map must lie on its image's grid");
                labels.Add(CheckIntegerLabels(lab, labelPaths[i]));
            }
        }
        var x = Downsampling.Images(stack(images).unsqueeze(1), downsample);
        var y = labelPaths is null ? null : Downsampling.Labels(stack(labels).unsqueeze(1), downsample);
        var names = imagePaths.Select(p => Path.GetFileName(p)).ToList();
        return new SymNetTrainingData(x, y, validationCount, names);
    }

    /// <summary>A NIfTI volume as [*spatial] with trailing singleton axes dropped (X×Y×1 is a 2D slice).</summary>
    static Tensor ReadVolume(string path, string what, out long[] shape) => ReadVolume(path, what, out shape, out _);

    /// <summary>The same, with the volume's voxel-to-world affine; "image" reads as float32, anything else keeps its dtype.</summary>
    internal static Tensor ReadVolume(string path, string what, out long[] shape, out double[,] affine)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, $"{what} not found");
        using var img = NiftiReader.Read(path);
        var s = img.Shape.ToList();
        while (s.Count > 2 && s[^1] == 1) s.RemoveAt(s.Count - 1);
        if (s.Count > 3)
            throw UnsupException.ForFile(path, $"is a {s.Count}D image ({Fmt(s.ToArray())}); a 3D volume or a 2D slice is expected (extract one volume first)");
        if (s.Count < 2)
            throw UnsupException.ForFile(path, $"is {Fmt(img.Shape)}; a 3D volume or a 2D slice is expected");
        shape = s.ToArray();
        affine = img.Affine;
        var data = what == "image" ? img.ToFloat() : img.Data.alias();
        return data.reshape(shape);
    }

    /// <summary>The label map as int64, or an error naming <paramref name="path"/> if it holds non-integer values.</summary>
    internal static Tensor CheckIntegerLabels(Tensor labels, string path)
    {
        if (!labels.is_floating_point()) return labels.to(ScalarType.Int64);
        var bad = labels.isfinite().logical_not().any().item<bool>() || (labels != labels.round()).any().item<bool>();
        if (bad)
        {
            var sample = labels.masked_select((labels != labels.round()).logical_or(labels.isfinite().logical_not())).flatten()[0].item<float>();
            throw UnsupException.ForFile(path, $"holds non-integer values (e.g. {sample}); a label map must hold integer label ids (is this an intensity image?)");
        }
        return labels.to(ScalarType.Int64);
    }

    static string Fmt(long[] shape) => string.Join("x", shape);

    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}
