namespace Unsup.Registration.Training;

/// <summary>
/// Registration quality on the held-out ordered pairs (fixed i, moving j, i ≠ j), on the training grid.
/// </summary>
/// <param name="MeanDice">mean over pairs of the mean Dice over <paramref name="Labels"/> after registration</param>
/// <param name="StdDice">standard deviation of the per-pair mean Dice</param>
/// <param name="MeanDiceBefore">the same without registration (moving labels as they are)</param>
/// <param name="PercentFolding">mean over pairs of the % voxels of the moving→fixed field with det J ≤ 0</param>
/// <param name="Pairs">number of ordered pairs</param>
/// <param name="Labels">the label ids averaged over</param>
public sealed record SymNetValidation(double MeanDice, double StdDice, double MeanDiceBefore, double PercentFolding, int Pairs, IReadOnlyList<long> Labels);
