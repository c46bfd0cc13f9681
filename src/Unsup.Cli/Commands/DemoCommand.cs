using System.CommandLine;

namespace Unsup.Cli.Commands;

public static class DemoCommand
{
    public static Command Create()
    {
        var cmd = new Command("demo", "Run a short end-to-end demo on built-in data.\n\nExample:\n  unsup demo");
        cmd.SetAction(r =>
        {
            GlobalOptions.Apply(r);
            using var x = TorchSharp.torch.randn(64, 64);
            var y = x.matmul(x.t()).trace().item<float>();
            Console.WriteLine($"smoke: torch works (trace {y:F2})");
            return 0;
        });
        return cmd;
    }
}
