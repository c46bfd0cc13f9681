using System.CommandLine;
using Unsup.Moco;
using Unsup.Moco.Training;
using Unsup.Registration.IO;
using Unsup.Training;

namespace Unsup.Cli.Commands;

/// <summary>`unsup demo`: the main job on built-in data, showing that every layer works on this machine.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the demo's run folders", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var cmd = new Command("demo",
            "Run a short end-to-end demo on built-in data: engine info; a smoke training run (checkpoints, metrics, loss plot); " +
            "a short MoCo pretraining on Fashion-MNIST with kNN accuracy before and after; and SYMNet registration of the example " +
            "OASIS brain pair with the official pretrained weights (overview PNG). Takes a few minutes on a CPU.\n\nExample:\n  unsup demo --out runs/demo") { outDir };
        cmd.SetAction(r =>
        {
            string root = r.GetValue(outDir)!;
            var device = TorchRuntime.ResolveDevice(r.GetValue(GlobalOptions.Device));
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

            Console.WriteLine("\n== MoCo: 2 short epochs on 12,000 Fashion-MNIST images (a CPU-sized ResNet-18), kNN on the test split");
            var (train, test) = DatasetLoading.Load(r, "fashion-mnist", null, 12000);
            using (train) using (test)
            {
                var config = MocoConfig.FromPreset("cifar") with
                {
                    Width = 8, InChannels = 1, CropSize = 28, BatchSize = 256, Epochs = 2, QueueSize = 4096, Symmetric = false,
                    Seed = r.GetValue(GlobalOptions.Seed), DataSpec = "fashion-mnist",
                };
                string mocoRun = Path.Combine(root, "moco");
                if (Directory.Exists(mocoRun)) Directory.Delete(mocoRun, recursive: true);
                var moco = MocoPretraining.Run(DatasetLoading.ToMocoData(train, test), new MocoPretrainOptions
                {
                    RunDir = mocoRun, Config = config, Device = device,
                    Progress = r.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto,
                });
                Console.WriteLine($"MoCo: kNN top-1 ({config.KnnFeatures} features) {moco.KnnInit:P2} at random init -> {moco.KnnLast:P2} after {moco.Epochs} epochs; " +
                                  $"plots in {Path.GetFullPath(Path.Combine(mocoRun, "plots"))}");
            }

            Console.WriteLine("\n== SYMNet: register the example OASIS pair (160x192x224) with the official pretrained weights");
            var pair = DataLocations.Resolve(r, "oasis-pair");
            string regOut = Path.Combine(root, "symnet-oasis");
            var reg = RegisterPairJob.Run(new RegisterPairOptions
            {
                FixedPath = pair.File("oasis_pair_A.nii.gz"), MovingPath = pair.File("oasis_pair_B.nii.gz"),
                WeightsPath = DataLocations.Resolve(r, "symnet-oasis-weights").Files[0], OutDir = regOut, Device = device,
            });
            SymnetCommands.PrintSummary(reg);
            Console.WriteLine($"overview: {Path.GetFullPath(reg.Outputs["overview"])}");
            return 0;
        });
        return cmd;
    }
}
