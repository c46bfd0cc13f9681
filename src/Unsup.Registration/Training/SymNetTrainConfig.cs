using Unsup.Registration.Transforms;
namespace Unsup.Registration.Training;

/// <summary>
/// Everything that defines a SYMNet training run; written to the run's config.json, which wins on --resume.
/// Defaults are the official code's (Adam 1e-4, λ_J 100, λ_s 3, λ_m 0.1, C = 7).
/// </summary>
public sealed record SymNetTrainConfig
{
    /// <summary>Image files in subject order (the last <see cref="ValidationCount"/> are held out).</summary>
    public IReadOnlyList<string> Images { get; init; } = [];
    /// <summary>Label maps, same order as <see cref="Images"/> (null: no validation Dice).</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    public int ValidationCount { get; init; }
    /// <summary>
    /// Train from label maps alone (instead of <see cref="Images"/>): fresh images are synthesised from the
    /// training subjects' maps every step; the held-out subjects get one fixed synthesis each for validation.
    /// </summary>
    public IReadOnlyList<string>? LabelMaps { get; init; }
    /// <summary>SynthSeg priors folder for <see cref="LabelMaps"/> (null: Unsup's built-in T1 contrast).</summary>
    public string? PriorsDir { get; init; }
    /// <summary>Label → prior column file (SynthSeg's generation_classes_contrast_specific.npy); null: see LabelIntensityPriors.FromSynthSegFolder.</summary>
    public string? ClassesFile { get; init; }
    /// <summary>With <see cref="LabelMaps"/>: crop size in input voxels around each brain (null: the set's largest brain box).</summary>
    public long[]? CropSize { get; init; }
    /// <summary>With <see cref="LabelMaps"/>: randomly deform each label map (affine + elastic) before every synthesis.</summary>
    public bool Deform { get; init; }
    /// <summary>
    /// With <see cref="LabelMaps"/>: keep the extra-cerebral labels (&gt;= 500) and outer CSF (24) and give the
    /// background its own intensity, as SynthSeg's whole-head images (`unsup synth --head`); default false: skull-stripped
    /// brains on a zero background, whose outline is then the strongest edge local NCC sees.
    /// </summary>
    public bool WholeHead { get; init; }
    public const string SameContrast = "same", IndependentContrast = "independent";
    /// <summary>
    /// With <see cref="LabelMaps"/>: <c>same</c> synthesises both images of a training pair with one contrast (and the
    /// held-out subjects with one), as two scans of one protocol, the setting local NCC is made for; <c>independent</c>
    /// draws a contrast per image (SynthMorph's setting, for a label loss). The CLI's default is same; a config.json
    /// written before the option existed means independent, which is what those runs did.
    /// </summary>
    public string PairContrast { get; init; } = IndependentContrast;
    /// <summary>Initial weights: a PyTorch state_dict (.pth), an Unsup checkpoint (.ckpt) or a run folder (its latest checkpoint).</summary>
    public string? Init { get; init; }
    public int StartChannels { get; init; } = 7;
    public long Steps { get; init; } = 1000;
    public double Lr { get; init; } = 1e-4;
    /// <summary>Integer downsampling factor applied on load (<see cref="Downsampling"/>).</summary>
    public int Downsample { get; init; } = 1;
    public double JacobianWeight { get; init; } = 100.0;
    public double SmoothnessWeight { get; init; } = 3.0;
    public double MagnitudeWeight { get; init; } = 0.1;
    /// <summary>
    /// λ_L, weight of the soft-Dice label term (<see cref="Losses.SoftDice"/>) over <see cref="DiceLabels"/>; needs label maps.
    /// 0 = the official unsupervised objective.
    /// </summary>
    public double LabelWeight { get; init; }
    /// <summary>Weight of the NCC terms (<see cref="Losses.SymNetLoss.SimilarityWeight"/>); 1 = official, 0 = label overlap alone (needs --label-weight).</summary>
    public double SimilarityWeight { get; init; } = 1.0;
    /// <summary>Gaussian sigma in voxels on both images before the similarity terms (<see cref="Losses.SymNetLoss.SimilarityBlur"/>); 0 = official.</summary>
    public double SimilarityBlur { get; init; }
    /// <summary>Local NCC window (null: 7 in 3D as Train_sym_onepass, 5 in 2D; the official neurite-OASIS run used 5).</summary>
    public int? NccWindow { get; init; }
    /// <summary>Validation Dice labels: auto, freesurfer, all or a file of ids (<see cref="Metrics.DiceLabelChoice"/>); null = auto.</summary>
    public string? DiceLabels { get; init; }
    /// <summary>Validate every N steps (and at step 0 and the last step); 0 = only at the ends.</summary>
    public int ValEvery { get; init; } = 100;
    public int CheckpointEvery { get; init; } = 100;
    public long Seed { get; init; }
    /// <summary>Scaling-and-squaring steps (official 7).</summary>
    public int IntegrationSteps { get; init; } = DiffeomorphicTransform.DefaultSteps;

    public void Validate()
    {
        if (Steps < 1) throw new UnsupException($"--steps {Steps}: must be at least 1");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new UnsupException($"--lr {Lr}: must be a positive number");
        if (StartChannels < 1) throw new UnsupException($"--start-channels {StartChannels}: must be at least 1");
        if (Downsample < 1) throw new UnsupException($"--downsample {Downsample}: must be at least 1");
        foreach (var (name, v) in new[] { ("--jacobian-weight", JacobianWeight), ("--smooth-weight", SmoothnessWeight), ("--magnitude-weight", MagnitudeWeight), ("--label-weight", LabelWeight), ("--similarity-weight", SimilarityWeight), ("--similarity-blur", SimilarityBlur) })
            if (!(v >= 0) || !double.IsFinite(v)) throw new UnsupException($"{name} {v}: must be a finite number ≥ 0");
        if (SimilarityWeight == 0 && LabelWeight == 0)
            throw new UnsupException("--similarity-weight 0 leaves nothing to align the images: give --label-weight W > 0 (label maps needed) or keep the NCC terms");
        if (NccWindow is int w && (w < 1 || w % 2 == 0)) throw new UnsupException($"--ncc-window {w}: must be an odd number of voxels ≥ 1");
        if (ValEvery < 0) throw new UnsupException($"--val-every {ValEvery}: must be ≥ 0");
        if (CheckpointEvery < 1) throw new UnsupException($"--checkpoint-every {CheckpointEvery}: must be at least 1");
        if (PairContrast is not (SameContrast or IndependentContrast)) throw new UnsupException($"--pair-contrast {PairContrast}: expected same or independent");
    }
}
