namespace Unsup.Registration.Affine;

/// <summary>What the affine stage compares: local NCC (same contrast, default) or Mattes-style mutual information (any contrast).</summary>
public enum AffineMetric { LocalNcc, MutualInformation }

/// <summary>Settings of <see cref="AffineRegistration"/>.</summary>
public sealed record AffineOptions
{
    /// <summary>Resolution levels in mm, coarse to fine; each image is block-averaged to about this spacing.</summary>
    public double[] LevelsMm { get; init; } = [6, 3];
    /// <summary>Rigid iterations (rotation and translation only) at the coarsest level before the affine ones.</summary>
    public int RigidIterations { get; init; } = 60;
    /// <summary>Affine iterations per level (all 12 parameters).</summary>
    public int[] AffineIterations { get; init; } = [80, 40];
    public AffineMetric Metric { get; init; } = AffineMetric.LocalNcc;
    /// <summary>Window of the local NCC, in voxels of each level.</summary>
    public int NccWindow { get; init; } = 5;
    /// <summary>Adam's step size; the parameters are scaled so one step is about this many radians, tens of mm or log-scale units.</summary>
    public double LearningRate { get; init; } = 0.02;
    /// <summary>
    /// Fraction of the fixed image's intensity range (after min-max scaling) above which a voxel is foreground; each level
    /// is cropped to the box around the foreground before optimising. 0 keeps the whole field of view.
    /// </summary>
    public double ForegroundThreshold { get; init; } = 0.05;
    /// <summary>Fixed voxels drawn at random each iteration for mutual information (elastix's default is 2,048).</summary>
    public int MutualInformationSamples { get; init; } = 8192;
    /// <summary>Seed of the mutual-information samples: the same inputs give the same transform.</summary>
    public int Seed { get; init; }
    /// <summary>Start the three scales from the ratio of the heads' extents along each world axis instead of 1.</summary>
    public bool ScaleFromExtents { get; init; } = true;
    /// <summary>Skip the optimisation: only the centre-of-mass translation (for tests and comparisons).</summary>
    public bool CentreOfMassOnly { get; init; }
}
