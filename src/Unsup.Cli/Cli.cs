using System.CommandLine;

namespace Unsup.Cli;

/// <summary>Runs the command tree and turns failures into one clear line and a non-zero exit code.</summary>
public static class Cli
{
    public const int ExitError = 1;
    public const int ExitUsage = 2;

    public static int Run(RootCommand root, string[] args)
    {
        ParseResult parse = root.Parse(args.Length == 0 ? new[] { "--help" } : args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"unsup: {e.Message}");
            Console.Error.WriteLine("Run 'unsup --help' (or '<verb> --help') for usage.");
            return ExitUsage;
        }
        bool verbose = parse.GetValue(GlobalOptions.Verbose);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(e, verbose);
        }
    }

    static int Report(Exception e, bool verbose)
    {
        var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e;
        if (inner is System.Reflection.TargetInvocationException { InnerException: { } ti }) inner = ti;
        string msg = inner switch
        {
            UnsupException u => u.Message,
            FileNotFoundException f => $"{f.FileName ?? "file"}: not found",
            DirectoryNotFoundException d => d.Message,
            UnauthorizedAccessException u => $"permission denied: {u.Message}",
            OperationCanceledException => "cancelled",
            _ => $"internal error: {inner.GetType().Name}: {inner.Message} (run with --verbose for details; please report it)",
        };
        Console.Error.WriteLine($"unsup: error: {msg}");
        if (verbose) Console.Error.WriteLine(inner.ToString());
        return ExitError;
    }
}
