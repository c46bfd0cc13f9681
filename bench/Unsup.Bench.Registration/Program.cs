namespace Unsup.Bench.Registration;

/// <summary>Placeholder entry point: the orchestrator (synthesis + methods + report) replaces it.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("usage: unsup-bench-registration  (bench/registration: Dice, % det J <= 0 and s/pair of registration methods)");
        return args.Length == 0 ? 0 : 2;
    }
}
