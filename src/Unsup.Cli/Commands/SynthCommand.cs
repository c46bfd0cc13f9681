using System.CommandLine;
using Unsup.Registration.Synthesis;
using Unsup.Registration.Training;

namespace Unsup.Cli.Commands;

/// <summary>`unsup synth`: T1-like images from label maps (SynthSeg's generative model).</summary>
public static class SynthCommand
{
    public static readonly Option<string?> Priors = new("--priors")
    {
        Description = "SynthSeg priors folder (generation_labels.npy, prior_means_t1.npy, prior_stds_t1.npy); 'builtin' for Unsup's fixed T1 contrast " +
                      "(default: the data item synthseg-priors, from --data-dir / UNSUP_DATA or downloaded)",
    };
    public static readonly Option<string?> Classes = new("--classes")
    {
        Description = "Label -> prior column file (default: SynthSeg's generation_classes_contrast_specific.npy in --priors); " +
                      "'unsup' for Unsup's older reconstructed pairing (not SynthSeg's; warns)",
    };
    public static readonly Option<string?> Crop = new("--crop")
    {
        Description = "'brain': equal-size crops around each brain (the set's largest box + 4 voxels); XxYxZ: that size in input voxels, centred on the brain; 'none' (default for one map)",
    };

    public static Command Create()
    {
        var labels = new Option<string>("--labels") { Description = "A label map (NIfTI, integer label ids), a folder of them or a list file", Required = true };
        var outOpt = new Option<string>("--out") { Description = "Output image (.nii.gz) for one label map; a folder (images/, labels/) for several", Required = true };
        var outLabels = new Option<string?>("--out-labels") { Description = "One label map: also write it on the image's grid (after crop, downsampling, deformation) here" };
        var head = new Option<bool>("--head") { Description = "Keep extra-cerebral labels (>= 500) and outer CSF (24): a whole-head image as SynthSeg's; default: skull-stripped brain" };
        var down = new Option<int>("--downsample") { Description = "Integer factor after cropping; label maps take one voxel per block (nearest), so no new label appears", DefaultValueFactory = _ => 1 };
        var deform = new Option<bool>("--deform") { Description = "SynthSeg's spatial augmentation of the label map: affine (±15°, ±20% scale, ±0.012 shear), " +
                                                                   "diffeomorphic SVF (std up to 4, grid 4% of the size, scaling and squaring) and a left-right flip (p 0.5)" };
        var noFlip = new Option<bool>("--no-flip") { Description = "With --deform: no left-right flip" };
        var blur = new Option<double?>("--blur") { Description = "Gaussian blur sigma in voxels (default: SynthSeg's rule, 0.5 voxel at the grid's resolution, 0.75 x --data-res)" };
        var dataRes = new Option<double?>("--data-res") { Description = "Acquisition resolution to mimic, in label-grid voxels (default 1): blur, sample at it, back to the grid" };
        var randomRes = new Option<bool>("--randomise-res") { Description = "SynthSeg's randomise_res: draw the acquisition resolution per image (isotropic up to 4, one axis up to 8 voxels)" };
        var bias = new Option<double?>("--bias") { Description = "Largest std of the log bias field (default 0.7, SynthSeg's; 0 = none)" };
        var gamma = new Option<double?>("--gamma") { Description = "Std of the log gamma exponent (default 0.5, SynthSeg's; 0 = none)" };
        var noise = new Option<double?>("--noise") { Description = "Largest noise std in prior intensity units (default 0: SynthSeg's generator adds none)" };

        var cmd = new Command("synth",
            "Synthesise T1-like images from label maps with the steps and default ranges of SynthSeg's brain generator: each label's intensity " +
            "class draws a mean and a spread from the T1 priors, voxels are drawn from those Gaussians, multiplied by a bias field, clipped, " +
            "min-max normalised, gamma-augmented and blurred for the acquisition resolution. " +
            "Seeded (--seed; map k of a folder uses seed + k) and reproducible. The image keeps the label map's grid and affine unless " +
            "--crop/--downsample/--deform change it; then write the matching labels with --out-labels (a folder output always holds them).\n\n" +
            "Examples:\n" +
            "  unsup synth --labels training_seg_01.nii.gz --out t1_01.nii.gz\n" +
            "  unsup synth --labels seg.nii.gz --crop brain --downsample 2 --deform --out img.nii.gz --out-labels lab.nii.gz --seed 3\n" +
            "  unsup synth --labels synthseg/ --crop brain --downsample 2 --out data/synth-2mm")
        {
            labels, outOpt, outLabels, Priors, Classes, head, Crop, down, deform, noFlip, blur, dataRes, randomRes, bias, gamma, noise,
        };
        cmd.SetAction(r =>
        {
            GlobalOptions.Apply(r);
            var spec = r.GetValue(labels)!;
            // outputs first: a volume name is one output file, anything else the folder for several
            if (ImageList.IsNifti(r.GetValue(outOpt)!) && !Directory.Exists(r.GetValue(outOpt))) Unsup.IO.OutputCheck.ForFile(r.GetValue(outOpt)!);
            else Unsup.IO.OutputCheck.ForFolder(r.GetValue(outOpt)!);
            if (r.GetValue(outLabels) is string outLabelsPath) Unsup.IO.OutputCheck.ForFile(outLabelsPath);
            var maps = File.Exists(spec) && ImageList.IsNifti(spec) ? [spec] : ImageList.Resolve(spec);
            var geometry = Geometry(r.GetValue(Crop) ?? (maps.Count > 1 ? "brain" : "none"), r.GetValue(down), !r.GetValue(head));
            var synth = new LabelImageSynthesizer(ResolvePriors(r))
            {
                BlurSigma = r.GetValue(blur) is double b ? NonNegative("--blur", b) : null,
                DataResolution = AtLeastOne("--data-res", r.GetValue(dataRes) ?? 1),
                RandomiseResolution = r.GetValue(randomRes),
                BiasFieldStd = NonNegative("--bias", r.GetValue(bias) ?? 0.7),
                GammaStd = NonNegative("--gamma", r.GetValue(gamma) ?? 0.5),
                NoiseStd = NonNegative("--noise", r.GetValue(noise) ?? 0),
                ZeroBackground = !r.GetValue(head),
            };
            var request = new SynthesisRequest
            {
                LabelMaps = maps, Out = r.GetValue(outOpt)!, OutLabels = r.GetValue(outLabels), Synthesizer = synth, Geometry = geometry,
                Deformation = r.GetValue(deform) ? new RandomDeformation { FlipProbability = r.GetValue(noFlip) ? 0 : 0.5 } : null, Seed = r.GetValue(GlobalOptions.Seed),
            };
            bool quiet = r.GetValue(GlobalOptions.Quiet);
            SynthesisJob.Run(request, o =>
            {
                if (!quiet) Console.WriteLine($"{o.Image} ({string.Join("x", o.Shape)}, seed {o.Seed})" + (o.Labels != null ? $", labels {o.Labels}" : ""));
            });
            return 0;
        });
        return cmd;
    }

    /// <summary>--priors DIR | builtin | (absent: the synthseg-priors data item).</summary>
    public static LabelIntensityPriors ResolvePriors(ParseResult r) => LoadPriors(ResolvePriorsDir(r), r.GetValue(Classes));

    /// <summary>The priors folder to use, or null for the built-in contrast.</summary>
    public static string? ResolvePriorsDir(ParseResult r)
    {
        var p = r.GetValue(Priors);
        if (string.Equals(p, "builtin", StringComparison.OrdinalIgnoreCase)) return null;
        if (p != null) return Path.GetFullPath(p);
        try { return DataLocations.Resolve(r, "synthseg-priors").Folder; }
        catch (UnsupException e) { throw new UnsupException($"{e.Message}\n(give --priors DIR, or --priors builtin for Unsup's fixed T1 contrast)"); }
    }

    public static LabelIntensityPriors LoadPriors(string? dir, string? classes) =>
        dir is null ? LabelIntensityPriors.T1SkullStripped()
        : LabelIntensityPriors.FromSynthSegFolder(dir, classes is null || string.Equals(classes, LabelIntensityPriors.ReconstructedPairing, StringComparison.OrdinalIgnoreCase)
            ? classes : Path.GetFullPath(classes));

    public static LabelMapGeometry Geometry(string crop, int downsample, bool brainOnly)
    {
        if (downsample < 1) throw new UnsupException($"--downsample {downsample}: must be at least 1");
        var g = new LabelMapGeometry { BrainOnly = brainOnly, Downsample = downsample };
        return crop.ToLowerInvariant() switch
        {
            "none" => g with { KeepGrid = true },
            "brain" => g,
            _ => g with { CropSize = CropSize(crop) },
        };
    }

    public static long[] CropSize(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 3 || parts.Any(p => !long.TryParse(p, out var v) || v < 1))
            throw new UnsupException($"--crop {text}: expected 'brain', 'none' or three positive sizes like 160x192x224");
        return parts.Select(long.Parse).ToArray();
    }

    static double AtLeastOne(string name, double v) =>
        v >= 1 && double.IsFinite(v) ? v : throw new UnsupException($"{name} {v}: must be a finite number >= 1 (label-grid voxels)");

    static double NonNegative(string name, double v) =>
        v >= 0 && double.IsFinite(v) ? v : throw new UnsupException($"{name} {v}: must be a finite number >= 0");
}
