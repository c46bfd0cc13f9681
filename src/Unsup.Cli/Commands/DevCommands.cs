using System.CommandLine;
using Unsup.Training;

namespace Unsup.Cli.Commands;

/// <summary>Hidden developer verbs (`unsup dev ...`): test drivers, not user features.</summary>
public static class DevCommands
{
    public static Command Create()
    {
        var dev = new Command("dev", "Developer tools (test drivers)") { Hidden = true };
        dev.Subcommands.Add(DummyTrain());
        dev.Subcommands.Add(DdpCheck());
        dev.Subcommands.Add(ConvNanCheck());
        return dev;
    }

    static Command DdpCheck()
    {
        var outPath = new Option<string>("--out") { Description = "Final weights, one number per line (rank 0)", Required = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size") { Description = "Global batch", DefaultValueFactory = _ => 8 };
        var cmd = new Command("ddp-check", "A few data-parallel SGD steps of a small MLP without batch norm (run it under mpiexec with any number of ranks)") { outPath, steps, batch };
        cmd.SetAction(r =>
        {
            TorchRuntime.SetThreads(r.GetValue(GlobalOptions.Threads));
            DistributedCheck.Run(r.GetValue(outPath)!, r.GetValue(steps), r.GetValue(batch), r.GetValue(GlobalOptions.Seed));
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The minimal case of the NaN gradients once seen in 3D convolution backward (conv3d → cat → conv3d, first
    /// backward of a fresh process; see ConvBackwardHazardTests): exit 0 when every gradient is finite, 3 when not.
    /// .ci/nan-trap.sh runs it in many fresh processes.
    /// </summary>
    static Command ConvNanCheck()
    {
        var size = new Option<int>("--size") { Description = "Edge of the cubic input", DefaultValueFactory = _ => 64 };
        var cmd = new Command("conv-nan-check", "First float32 backward through conv3d -> cat -> conv3d; exit 3 when a gradient is not finite") { size };
        cmd.SetAction(parse =>
        {
            TorchRuntime.SetThreads(parse.GetValue(GlobalOptions.Threads));
            using var scope = TorchSharp.torch.NewDisposeScope();
            TorchSharp.torch.manual_seed(parse.GetValue(GlobalOptions.Seed));
            int n = parse.GetValue(size);
            var convs = new[] { (2, 8), (8, 8), (16, 8), (8, 8) }.Select(c => TorchSharp.torch.nn.Conv3d(c.Item1, c.Item2, 3, padding: 1)).ToArray();
            var x = TorchSharp.torch.rand([1, 2, n, n, n]);
            var e = convs[1].forward(convs[0].forward(x));
            e.retain_grad();
            var y = convs[3].forward(convs[2].forward(TorchSharp.torch.cat([e, e], 1)));
            (y * TorchSharp.torch.randn_like(y)).sum().backward();
            var grads = convs.SelectMany(c => new[] { c.weight!.grad!, c.bias!.grad! }).Append(e.grad!).ToArray();
            int bad = grads.Count(g => !g.isfinite().all().item<bool>());
            Console.WriteLine($"conv-nan-check: size {n}, threads {TorchSharp.torch.get_num_threads()}: " +
                (bad == 0 ? "all gradients finite" : $"{bad} of {grads.Length} gradients NOT FINITE"));
            return bad == 0 ? 0 : 3;
        });
        return cmd;
    }

    static Command DummyTrain()
    {
        var outDir = new Option<string>("--out") { Description = "Run folder", Required = true };
        var steps = new Option<long>("--steps") { Description = "Total optimizer steps", DefaultValueFactory = _ => 200 };
        var every = new Option<long>("--checkpoint-every") { Description = "Checkpoint every K steps", DefaultValueFactory = _ => 20 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint" };
        var delay = new Option<int>("--step-delay-ms") { Description = "Sleep after each step (lets tests kill between checkpoints)" };
        var poison = new Option<long?>("--poison-step") { Description = "Make the loss NaN at this step (tests the NaN guard)" };

        var cmd = new Command("dummy-train", "Tiny deterministic training run exercising checkpoints, resume, metrics and the NaN guard")
        {
            outDir, steps, every, resume, delay, poison,
        };
        cmd.SetAction(parse =>
        {
            TorchRuntime.SetThreads(parse.GetValue(GlobalOptions.Threads));
            DummyTraining.Run(new DummyTrainingOptions
                {
                    OutDir = parse.GetValue(outDir)!,
                    Steps = parse.GetValue(steps),
                    CheckpointEvery = parse.GetValue(every),
                    Seed = parse.GetValue(GlobalOptions.Seed),
                    Resume = parse.GetValue(resume),
                    StepDelayMs = parse.GetValue(delay),
                    PoisonStep = parse.GetValue(poison),
                    Progress = parse.GetValue(GlobalOptions.Quiet) ? ProgressMode.Quiet : ProgressMode.Auto,
            });
            return 0;
        });
        return cmd;
    }
}
