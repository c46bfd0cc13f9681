using System.Text.Json;
using System.Text.Json.Serialization;
using Unsup.Moco.Augment;
using Unsup.Moco.Models;
using Unsup.Training;

namespace Unsup.Moco;

/// <summary>
/// Every MoCo pre-training hyper-parameter, serialisable with System.Text.Json (the run folder's config).
/// <see cref="FromPreset"/> gives the published defaults: v1 (MoCo paper), v2 (MoCo v2), cifar (official CIFAR-10 demo),
/// and Unsup's own "small" recipe for small grayscale or colour images on a CPU (README: Fashion-MNIST results).
/// The learning rate is given per 256 images and scaled linearly with the batch size (0.03 → 0.06 at 512).
/// </summary>
public sealed record MocoConfig
{
    public string Preset { get; init; } = "v2";

    // backbone
    public string Arch { get; init; } = "resnet50";
    public int Width { get; init; } = 64;
    public bool CifarStem { get; init; }
    /// <summary>Stride of the CIFAR stem's conv (1 = the demo's; absent in configs written before it existed).</summary>
    public int StemStride { get; init; } = 1;
    public int InChannels { get; init; } = 3;

    // MoCo
    public int Dim { get; init; } = 128;
    public int QueueSize { get; init; } = 65536;
    public double KeyMomentum { get; init; } = 0.999;
    public double Temperature { get; init; } = 0.2;
    public bool Mlp { get; init; } = true;
    public bool Symmetric { get; init; }
    public int BnSplits { get; init; } = 8;

    // data
    public string Augmentation { get; init; } = "v2";
    public int CropSize { get; init; } = 224;
    /// <summary>Smallest crop area fraction; null = the augmentation preset's (0.2, or 0.08 for cifar).</summary>
    public double? CropScaleMin { get; init; }

    // optimisation
    public int Epochs { get; init; } = 200;
    public int BatchSize { get; init; } = 256;
    public double BaseLr { get; init; } = 0.03;
    public string Schedule { get; init; } = "cosine";
    public int[] Milestones { get; init; } = [120, 160];
    public double WarmupEpochs { get; init; }
    public double SgdMomentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 1e-4;
    public bool ExcludeBnBiasFromWeightDecay { get; init; }

    // monitor
    public int KnnK { get; init; } = 200;
    public double KnnTemperature { get; init; } = 0.1;
    public int KnnEvery { get; init; } = 1;
    /// <summary>"head" (the CIFAR demo's monitor: the query encoder's L2-normalised projection) or "backbone" (pooled features).</summary>
    public string KnnFeatures { get; init; } = "head";

    public long Seed { get; init; }

    /// <summary>Checkpoints kept in the run's checkpoints/ (at least 2), 0 = every one; part of the run so a resume keeps them too.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>The --data spec the run was started with (so --resume needs no --data).</summary>
    public string? DataSpec { get; init; }
    /// <summary>--max-images of the run (null = all training images).</summary>
    public int? MaxImages { get; init; }
    /// <summary>--image-size of the run (image folders only).</summary>
    public int? ImageSize { get; init; }

    /// <summary>BaseLr × BatchSize / 256.</summary>
    [JsonIgnore] public double Lr => BaseLr * BatchSize / 256.0;

    public static readonly string[] Presets = ["v1", "v2", "cifar", "small"];

    public static MocoConfig FromPreset(string name) => name.ToLowerInvariant() switch
    {
        "v1" => new MocoConfig
        {
            Preset = "v1", Arch = "resnet50", Temperature = 0.07, Mlp = false, Augmentation = "v1",
            Schedule = "step", Milestones = [120, 160],
        },
        "v2" => new MocoConfig(),
        "cifar" => new MocoConfig
        {
            Preset = "cifar", Arch = "resnet18", CifarStem = true, QueueSize = 4096, KeyMomentum = 0.99, Temperature = 0.1,
            Mlp = false, Symmetric = true, BnSplits = 8, Augmentation = "cifar", CropSize = 32, BatchSize = 512,
            BaseLr = 0.03, WeightDecay = 5e-4, Schedule = "cosine",
        },
        // The 2-hour Fashion-MNIST recipe: the CIFAR demo's encoder, queue and augmentation with MoCo v2's MLP head and
        // temperature, one crop order (half the compute per image of the symmetric loss, so twice the images in the
        // same time), crops of at least 20 % of the image and batch 128: at the same images per second, twice the steps of
        // 256 gave +0.55 and +0.76 points linear, +1.84 and +1.06 kNN in 8-epoch runs of two seeds (README, ablations).
        "small" => new MocoConfig
        {
            Preset = "small", Arch = "resnet18", CifarStem = true, QueueSize = 4096, KeyMomentum = 0.99, Temperature = 0.2,
            Mlp = true, Symmetric = false, BnSplits = 8, Augmentation = "cifar", CropSize = 32, CropScaleMin = 0.2, BatchSize = 128,
            BaseLr = 0.03, WeightDecay = 5e-4, Schedule = "cosine",
        },
        _ => throw new UnsupException($"--preset {name}: expected one of {string.Join(", ", Presets)}"),
    };

    /// <summary>Rejects combinations that would fail mid-run, with the option to change in the message.</summary>
    public MocoConfig Validate()
    {
        if (BatchSize < 1) throw new UnsupException($"--batch-size {BatchSize}: must be positive");
        if (BnSplits < 1 || BatchSize % BnSplits != 0)
            throw new UnsupException($"--bn-splits {BnSplits}: must divide --batch-size {BatchSize}");
        if (QueueSize < 1) throw new UnsupException($"--moco-k {QueueSize}: must be positive");
        if (KeyMomentum < 0 || KeyMomentum > 1) throw new UnsupException($"--moco-m {KeyMomentum}: must be in [0, 1]");
        if (Temperature <= 0) throw new UnsupException($"--moco-t {Temperature}: must be positive");
        if (Epochs < 1) throw new UnsupException($"--epochs {Epochs}: must be positive");
        if (KeepCheckpoints is < 2 and not 0)
            throw new UnsupException($"--keep-checkpoints {KeepCheckpoints}: keep at least 2 (the previous checkpoint is the fallback for a damaged latest), or 0 for all");
        if (BaseLr <= 0) throw new UnsupException($"--lr {BaseLr}: must be positive");
        if (!LrSchedule.Kinds.Contains(Schedule)) throw new UnsupException($"--schedule {Schedule}: expected {string.Join(", ", LrSchedule.Kinds)}");
        if (WarmupEpochs < 0 || WarmupEpochs > Epochs) throw new UnsupException($"--warmup-epochs {WarmupEpochs}: must be between 0 and --epochs {Epochs}");
        if (!MocoAugmentation.Presets.Contains(Augmentation)) throw new UnsupException($"--aug {Augmentation}: expected v1, v2 or cifar");
        _ = Evaluation.KnnFeaturesNames.Parse(KnnFeatures);
        if (InChannels is not (1 or 3)) throw new UnsupException($"{InChannels} image channels: expected 1 or 3");
        _ = Backbone.CheckStem();
        return this;
    }

    [JsonIgnore] public ResNetOptions Backbone => ResNetOptions.Parse(Arch, Width, InChannels, CifarStem, StemStride);

    public MocoModel BuildModel() =>
        new(Backbone, Dim, QueueSize, KeyMomentum, Temperature, Mlp, Symmetric, BnSplits);

    public MocoAugmentation BuildAugmentation(Normalize normalize) => MocoAugmentation.Create(Augmentation, CropSize, normalize, CropScaleMin);

    /// <summary>
    /// The per-step schedule (factor on <see cref="Lr"/>) for epochs of <paramref name="stepsPerEpoch"/> steps: warm-up
    /// and milestones given in epochs become steps, so a fractional --warmup-epochs rounds to whole steps.
    /// </summary>
    public LrSchedule BuildSchedule(long stepsPerEpoch) =>
        LrSchedule.Create(Schedule, Epochs * stepsPerEpoch, (long)Math.Round(WarmupEpochs * stepsPerEpoch), Milestones.Select(m => m * stepsPerEpoch), 0.1);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <param name="source">File name for error messages.</param>
    public static MocoConfig FromJson(string json, string source = "config")
    {
        try
        {
            return JsonSerializer.Deserialize<MocoConfig>(json, Json) ?? throw UnsupException.ForFile(source, "empty MoCo config");
        }
        catch (JsonException e)
        {
            throw UnsupException.ForFile(source, $"not a valid MoCo config ({e.Message})", e);
        }
    }
}
