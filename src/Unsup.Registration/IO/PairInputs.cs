using System.Diagnostics;
using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// One pair as `symnet register` read and checked it, handed to the path that registers it: the images (voxels as read,
/// and masked as the network sees them), optional labels, the output files written so far, and the run's clock.
/// </summary>
public sealed record PairInputs(
    RegisterPairOptions Options, SymNetRegistration Registration, NiftiImage FixedImage, NiftiImage MovingImage,
    Tensor FixedVoxels, Tensor MovingVoxels, Tensor FixedIn, Tensor MovingIn, Tensor? FixedLabels, Tensor? MovingLabels,
    Stopwatch Clock)
{
    /// <summary>Output files by key (summary.json lists them).</summary>
    public Dictionary<string, string> Outputs { get; } = new();

    /// <summary>The path of output <paramref name="name"/> in the output folder, recorded under <paramref name="key"/>.</summary>
    public string Out(string key, string name) => Outputs[key] = Path.Combine(Options.OutDir, name);

    /// <summary>The labels Dice averages: --dice-labels resolved over both maps, else the nonzero labels of the fixed map.</summary>
    public IReadOnlyList<long> DiceLabels() =>
        Options.DiceLabels is { } choice ? choice.Resolve([MovingLabels!, FixedLabels!]) : Dice.Labels(FixedLabels!);

    /// <summary>Refuses fields with NaN or Inf before anything is written (a numerical fault must not leave files behind).</summary>
    public void CheckFinite(Tensor forward, Tensor inverse)
    {
        if (!forward.isfinite().all().item<bool>() || !inverse.isfinite().all().item<bool>())
            throw new NonFiniteFieldException($"registering {Options.MovingPath} to {Options.FixedPath} with {Options.WeightsPath} gave non-finite " +
                "displacements (a numerical fault: damaged weights or intensities far outside what the network was trained on; nothing was written)");
    }
}

/// <summary>The network produced NaN or Inf displacements for a pair.</summary>
public sealed class NonFiniteFieldException(string message) : UnsupException(message);
