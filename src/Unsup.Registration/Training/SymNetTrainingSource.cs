using Unsup.Registration.Metrics;
using Unsup.Registration.Synthesis;

namespace Unsup.Registration.Training;

/// <summary>Loads the training data a <see cref="SymNetTrainConfig"/> names: scans, or label maps to synthesise from.</summary>
public static class SymNetTrainingSource
{
    /// <summary>Seed offset of the held-out subjects' fixed syntheses (apart from the per-step training seeds).</summary>
    const long FixedImageSeed = 7_000_000;

    public static SymNetTrainingData Load(SymNetTrainConfig c)
    {
        var data = LoadData(c);
        if (c.DiceLabels is string spec && spec != "auto")
        {
            try { data.UseDiceLabels(DiceLabelChoice.Parse(spec)); }
            catch { data.Dispose(); throw; }
        }
        return data;
    }

    static SymNetTrainingData LoadData(SymNetTrainConfig c)
    {
        if (c.LabelMaps is not null && c.Images.Count > 0) throw new UnsupException("give either --images or --label-maps, not both");
        if (c.LabelMaps is null && c.Images.Count == 0) throw new UnsupException("no training data: give --images (scans) or --label-maps (images are synthesised)");
        if (c.LabelMaps is null) return SymNetTrainingData.Load(c.Images, c.Labels, c.ValidationCount, c.Downsample);
        using var maps = LabelMapPreparation.Load(c.LabelMaps, new LabelMapGeometry { CropSize = c.CropSize, Downsample = c.Downsample, BrainOnly = !c.WholeHead });
        return SymNetTrainingData.FromLabelMaps(maps, Synthesizer(c), c.ValidationCount, c.Seed + FixedImageSeed,
            onTheFly: true, deformation: c.Deform ? new RandomDeformation() : null, sharedContrast: c.PairContrast == SymNetTrainConfig.SameContrast);
    }

    public static LabelImageSynthesizer Synthesizer(SymNetTrainConfig c) =>
        new(c.PriorsDir is null ? LabelIntensityPriors.T1SkullStripped() : LabelIntensityPriors.FromSynthSegFolder(c.PriorsDir, c.ClassesFile))
        {
            ZeroBackground = !c.WholeHead,   // brain-only maps: images look skull-stripped
        };
}
