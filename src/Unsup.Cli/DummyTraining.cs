using TorchSharp;
using Unsup.IO;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Cli;

public sealed class DummyTrainingOptions
{
    public required string OutDir { get; init; }
    public long Steps { get; init; } = 200;
    public long CheckpointEvery { get; init; } = 20;
    public long Seed { get; init; } = 1;
    public bool Resume { get; init; }
    /// <summary>Sleep after each step, so a test can kill the process between checkpoints.</summary>
    public int StepDelayMs { get; init; }
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>Make the loss NaN at this step (1-based) to exercise the guard end to end.</summary>
    public long? PoisonStep { get; init; }
    public ProgressMode Progress { get; init; } = ProgressMode.Plain;
    public TextWriter? Log { get; init; }
    /// <summary>Warnings such as a damaged checkpoint skipped on resume (default stderr).</summary>
    public TextWriter? Warnings { get; init; }
    /// <summary>Called after each step (tests watch memory with it).</summary>
    public Action<long>? AfterStep { get; init; }
}

public sealed record DummyTrainingResult(long StartStep, long Steps, double FinalLoss, string FinalWeightsPath);

/// <summary>
/// A development driver, not a library feature (hence here, behind the hidden `unsup dev dummy-train` verb and the
/// demo's smoke run): the kill/resume tests need a process to SIGKILL.
/// A tiny but complete training run exercising every piece of the infrastructure: an MLP with dropout
/// (consumes torch's RNG) regressing a fixed random target, SGD with momentum, a step LR schedule, data
/// shuffled by a <see cref="SeededRandom"/> mid-epoch state saved as an extra tensor + scalar, checkpoints
/// every K steps, NaN guard, metrics, plot, summary. Killed and resumed, it must end with the same weights.
/// Final weights: final.bin = raw float32 of the state_dict tensors in order.
/// </summary>
public static class DummyTraining
{
    const int Samples = 64, Batch = 16, In = 8, Hidden = 32, Out = 4;

    public sealed record Config(long Seed, long CheckpointEvery, int Samples, int Batch, double Lr, double Momentum, long LrStepSize, double LrGamma);

    public static DummyTrainingResult Run(DummyTrainingOptions o)
    {
        if (o.Steps < 1) throw new UnsupException($"--steps {o.Steps}: must be at least 1");
        if (o.CheckpointEvery < 1) throw new UnsupException($"--checkpoint-every {o.CheckpointEvery}: must be at least 1");
        var log = o.Log ?? Console.Out;
        var config = new Config(o.Seed, o.CheckpointEvery, Samples, Batch, Lr: 0.05, Momentum: 0.9, LrStepSize: 25, LrGamma: 0.5);
        if (o.Resume)
        {
            var saved = RunFolder.Open(o.OutDir).ReadConfig<Config>();
            if (saved.Seed != o.Seed) throw new UnsupException($"--seed {o.Seed}: the run in {o.OutDir} was started with seed {saved.Seed}");
            config = saved;
        }

        var rng = Determinism.Seed(config.Seed);
        using var model = nn.Sequential(
            ("fc1", nn.Linear(In, Hidden)), ("relu", nn.ReLU()), ("drop", nn.Dropout(0.2)), ("fc2", nn.Linear(Hidden, Out)));
        using var opt = optim.SGD(model.parameters(), config.Lr, momentum: config.Momentum);
        var schedule = LrSchedule.StepDecay(config.LrStepSize, config.LrGamma);

        // the data comes from its own generator so it is the same whether or not the run resumes
        using var dataGen = new Generator((ulong)config.Seed + 1);
        using var x = randn(new long[] { Samples, In }, generator: dataGen);
        using var w = randn(new long[] { In, Out }, generator: dataGen);
        using var y = x.matmul(w).tanh();
        using var order = zeros(Samples, ScalarType.Int64);   // this epoch's shuffled order: saved, so a mid-epoch resume continues it

        var state = new TrainingState().AddModule("model", model).AddOptimizer("sgd", opt).AddRandom("shuffle", rng).AddTensor("order", order);
        state.Scalars["cursor"] = 0;
        using var session = TrainingSession.Start(new TrainingSessionOptions
        {
            RunDir = o.OutDir, Config = config, Resume = o.Resume, TotalSteps = o.Steps, CheckpointEvery = config.CheckpointEvery,
            KeepCheckpoints = o.KeepCheckpoints, Label = "dummy", Progress = o.Progress, Log = o.Log, ProgressInterval = TimeSpan.FromSeconds(5), Warnings = o.Warnings,
        }, state);
        long cursor = (long)state.Scalars["cursor"];
        double lastLoss = double.NaN;

        model.train();
        for (long step = state.Step; step < o.Steps; step++)
        {
            double lr;
            using (var scope = NewDisposeScope())
            {
                if (cursor == 0)
                    order.copy_(tensor(rng.Permutation(Samples)));
                var idx = order.narrow(0, cursor, Batch);
                var xb = x.index_select(0, idx);
                var yb = y.index_select(0, idx);

                lr = schedule.Apply(opt, step);
                opt.zero_grad();
                var loss = nn.functional.mse_loss(model.call(xb), yb);
                if (o.PoisonStep == step + 1) loss = loss * double.NaN;
                session.Guard.CheckLoss(step + 1, loss);
                loss.backward();
                session.Guard.CheckGradients(step + 1, model);
                opt.step();
                lastLoss = loss.item<float>();
            }
            cursor = (cursor + Batch) % Samples;
            if (cursor == 0) state.Epoch++;
            state.Scalars["cursor"] = cursor;          // before CompleteStep: it may write the checkpoint
            session.CompleteStep(("loss", lastLoss), ("lr", lr));
            o.AfterStep?.Invoke(state.Step);
            if (o.StepDelayMs > 0) Thread.Sleep(o.StepDelayMs);
        }

        var run = session.Run;
        long start = session.StartStep;
        var finalPath = Path.Combine(run.Root, "final.bin");
        AtomicFile.Write(finalPath, s =>
        {
            foreach (var (_, t) in model.state_dict()) s.Write(t.bytes);
        });
        session.Finish(new { steps = o.Steps, resumedFrom = start, finalLoss = lastLoss, memory = MemoryReport.Describe() }, ["loss"]);
        log.WriteLine($"done: {o.Steps} steps, loss {lastLoss:G4}, {MemoryReport.Describe()}; weights in {finalPath}");
        return new DummyTrainingResult(start, o.Steps, lastLoss, finalPath);
    }
}
