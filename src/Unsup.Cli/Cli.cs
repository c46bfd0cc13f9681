using System.CommandLine;
using Unsup.Distributed;

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
            // Under an MPI launcher every rank runs the same command; rank 0 alone prints (errors print on any rank).
            var world = Communicator.World;
            if (!world.IsRoot) Console.SetOut(TextWriter.Null);
            int code = parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            world.Dispose();
            return code;
        }
        catch (Exception e)
        {
            int code = Report(e, verbose);
            // The other ranks would wait for this one in their next collective forever: end the whole job now.
            if (Communicator.WorldIsDistributed)
            {
                Console.Error.Flush();
                Communicator.World.Abort(code);
            }
            return code;
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
        string where = Communicator.WorldIsDistributed ? $" (rank {Communicator.World.Rank} of {Communicator.World.Size})" : "";
        Console.Error.WriteLine($"unsup: error{where}: {msg}");
        if (verbose) Console.Error.WriteLine(inner.ToString());
        return ExitError;
    }
}
