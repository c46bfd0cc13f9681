namespace Unsup.Cli;

/// <summary>Placeholder until Unsup.Data.DataResolver lands: lists the search order for `unsup info`.</summary>
public static class DataLocations
{
    public static IEnumerable<(string, string)> Describe(string? dataDir)
    {
        if (dataDir != null) yield return ("--data-dir", dataDir);
        yield return ("UNSUP_DATA", Environment.GetEnvironmentVariable("UNSUP_DATA") ?? "(not set)");
    }
}
