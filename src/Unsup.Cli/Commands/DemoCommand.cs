using System.CommandLine;
using Unsup.Training;

namespace Unsup.Cli.Commands;

/// <summary>`unsup demo`: the main job on built-in data, showing that every layer works on this machine.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the demo's run folders", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var cmd = new Command("demo",
            "Run a short end-to-end demo on built-in data: engine info, then a smoke training run with checkpoints, " +
            "metrics and a loss plot in a run folder.\n\nExample:\n  unsup demo --out runs/demo") { outDir };
        cmd.SetAction(r =>
        {
            string root = r.GetValue(outDir)!;
            Console.WriteLine("== unsup info");
            InfoCommand.Print(r);

            Console.WriteLine("\n== smoke run: a small MLP trained with checkpoints, metrics, NaN guard and resume support");
            string smoke = Path.Combine(root, "smoke");
            if (Directory.Exists(smoke)) Directory.Delete(smoke, recursive: true); // the demo always starts afresh
            var result = DummyTraining.Run(new DummyTrainingOptions
            {
                OutDir = smoke,
                Steps = 200,
                CheckpointEvery = 50,
                Seed = r.GetValue(GlobalOptions.Seed),
                Progress = r.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto,
            });
            Console.WriteLine($"smoke run: {result.Steps} steps, final loss {result.FinalLoss:G4}; run folder {Path.GetFullPath(smoke)}");
            return 0;
        });
        return cmd;
    }
}
