using System.CommandLine;
using Unsup.Training;

namespace Unsup.Cli;

/// <summary>
/// On --resume the run's config.json decides (a run changed halfway would match neither its checkpoints nor its
/// record), so options that would have changed it are named in a warning instead of being dropped without a word.
/// </summary>
static class ResumeCheck
{
    /// <summary>
    /// Warns about the options of <paramref name="command"/> given on the command line, except <paramref name="runOptions"/>
    /// (those a resumed run still takes), and about --seed: all others are the run's settings.
    /// </summary>
    public static void WarnIgnored(ParseResult r, string runDir, Command command, params Option[] runOptions)
    {
        var given = command.Options.Except(runOptions).Append(GlobalOptions.Seed)
            .Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
        if (given.Count > 0)
            Console.Error.WriteLine($"warning: {string.Join(", ", given)} ignored: --resume {runDir} continues with the run's own settings ({RunFolder.ConfigFile})");
    }
}
