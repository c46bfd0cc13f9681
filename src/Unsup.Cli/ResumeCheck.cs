using System.CommandLine;
using Unsup.Training;

namespace Unsup.Cli;

/// <summary>
/// On --resume the run's config.json decides (a run changed halfway would match neither its checkpoints nor its
/// record), so options that would have changed it are named in a warning instead of being dropped without a word.
/// </summary>
static class ResumeCheck
{
    /// <summary>The options among <paramref name="configOptions"/> given on the command line, as typed.</summary>
    public static IReadOnlyList<string> Given(ParseResult r, IEnumerable<Option> configOptions) =>
        configOptions.Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();

    public static void WarnIgnored(ParseResult r, string runDir, IEnumerable<Option> configOptions)
    {
        var given = Given(r, configOptions);
        if (given.Count > 0)
            Console.Error.WriteLine($"warning: {string.Join(", ", given)} ignored: --resume {runDir} continues with the run's own settings ({RunFolder.ConfigFile})");
    }
}
