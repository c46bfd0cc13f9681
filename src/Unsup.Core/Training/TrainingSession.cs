using Unsup.Distributed;

namespace Unsup.Training;

public sealed class TrainingSessionOptions
{
    /// <summary>The run folder (runs/&lt;name&gt; by default in the CLI).</summary>
    public required string RunDir { get; init; }
    /// <summary>Written to config.json on a new run; ignored on resume (read it back with Run.ReadConfig).</summary>
    public required object Config { get; init; }
    public bool Resume { get; init; }
    /// <summary>Step count at which the run ends (progress total; a checkpoint is always written there).</summary>
    public required long TotalSteps { get; init; }
    public long CheckpointEvery { get; init; } = 1000;
    public int KeepCheckpoints { get; init; } = 3;
    public string Label { get; init; } = "train";
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
    /// <summary>Progress lines and messages (default stdout).</summary>
    public TextWriter? Log { get; init; }
    public TimeSpan? ProgressInterval { get; init; }
    /// <summary>The ranks training together (default: <see cref="Communicator.World"/>): rank 0 alone writes the run folder.</summary>
    public Communicator? Comm { get; init; }
    /// <summary>Warnings (a damaged checkpoint skipped on resume): shown even with --quiet; default stderr.</summary>
    public TextWriter? Warnings { get; init; }
}

/// <summary>
/// The pieces wired together the usual way: opens/creates the run folder, resumes the state from the latest
/// checkpoint, then per step logs metrics, updates progress and checkpoints every K steps; at the end plots
/// and writes the summary. The trainer keeps the loop and the maths:
/// <code>
/// using var session = TrainingSession.Start(options, state);     // state: modules, optimizer, RNGs registered
/// for (long step = state.Step; step &lt; total; step++) {
///     using (var scope = torch.NewDisposeScope()) {
///         schedule.Apply(opt, step); opt.zero_grad();
///         var loss = ...; session.Guard.CheckLoss(step + 1, loss);
///         loss.backward(); session.Guard.CheckGradients(step + 1, model); opt.step();
///         lossValue = loss.item&lt;float&gt;();
///     }
///     session.CompleteStep(("loss", lossValue), ("lr", lr));         // state.Step++, metrics, progress, checkpoint
/// }
/// session.Finish(new { finalLoss = lossValue }, ["loss"]);
/// </code>
/// </summary>
public sealed class TrainingSession : IDisposable
{
    readonly TrainingSessionOptions _o;
    readonly TextWriter _log;

    readonly RunLock? _lock;

    TrainingSession(TrainingSessionOptions o, TrainingState state, RunFolder run, RunLock? runLock, bool resumed)
    {
        _lock = runLock;
        _o = o;
        _log = o.Log ?? Console.Out;
        State = state;
        Run = run;
        StartStep = state.Step;
        Resumed = resumed;
        Writes = (o.Comm ?? Communicator.World).IsRoot;
        Guard = new NanGuard(run);
        Progress = new ProgressReporter(o.Label, o.TotalSteps, state.Step, Writes ? o.Progress : ProgressMode.Quiet, o.Log, o.ProgressInterval);
    }

    public RunFolder Run { get; }
    public TrainingState State { get; }
    public NanGuard Guard { get; }
    public ProgressReporter Progress { get; }
    /// <summary>The step this session started from (the checkpoint's on resume, else 0).</summary>
    public long StartStep { get; }
    public bool Resumed { get; }
    /// <summary>False on every rank but 0 of a distributed job: those train in step but write nothing (no metrics, checkpoints, plots, progress).</summary>
    public bool Writes { get; }
    /// <summary>Path of the newest checkpoint written or resumed from (null before the first).</summary>
    public string? LastCheckpoint => Run.Checkpoints.Latest;

    /// <summary>
    /// Creates the run (or opens it and restores the latest checkpoint into <paramref name="state"/> when
    /// options.Resume). Register everything in the state before calling: restoring writes into it.
    /// </summary>
    public static TrainingSession Start(TrainingSessionOptions options, TrainingState state)
    {
        if (options.TotalSteps < 1) throw new UnsupException($"the run needs at least one step (got {options.TotalSteps})");
        if (options.CheckpointEvery < 1) throw new UnsupException($"--checkpoint-every {options.CheckpointEvery}: must be at least 1");
        var comm = options.Comm ?? Communicator.World;
        // the lock comes first (rank 0's, the one writer): the check for an existing run and the resume must not race
        // with another process writing the folder
        var runLock = comm.IsRoot ? RunLock.Acquire(options.RunDir) : null;
        try
        {
            RunFolder run;
            var warnings = new List<string>();
            string? from = null;
            if (comm.IsRoot)
            {
                run = RunFolder.CreateOrOpen(options.RunDir, options.Config, options.Resume, options.KeepCheckpoints);
                // under the lock nobody else writes here: temp files are what a killed run left half-written
                if (options.Resume) run.RemoveStaleTempFiles();
                from = options.Resume ? run.Resume(state, warnings.Add) : null;
                comm.Barrier();
            }
            else
            {
                // rank 0 made (or resumed and trimmed) the run first; the others take the same newest intact checkpoint
                comm.Barrier();
                run = RunFolder.Open(options.RunDir, options.KeepCheckpoints);
                from = options.Resume ? run.Resume(state, _ => { }) : null;
            }
            var session = new TrainingSession(options, state, run, runLock, from != null);
            if (session.Writes)
            {
                var warn = options.Warnings ?? Console.Error;
                foreach (var w in warnings) { warn.WriteLine(w); warn.Flush(); }
                if (options.Resume)
                    session.Progress.Message(from != null
                        ? $"resumed {run.Root} from {from} (step {state.Step})"
                        : $"{run.Root} has no checkpoint yet; starting from step 0");
            }
            return session;
        }
        catch { runLock?.Dispose(); throw; }
    }

    /// <summary>
    /// Call after optimizer.step(): counts the step, appends the metrics line, updates progress, and saves a
    /// checkpoint every CheckpointEvery steps and at the last step. Returns the checkpoint path when one was written.
    /// </summary>
    public string? CompleteStep(params (string Name, double Value)[] values)
    {
        State.Step++;
        NativeAllocator.ReleaseFreed();
        if (!Writes) return null;
        // resident memory at the same point of every step (after the step, freed pages returned): a long run's
        // memory trend without the swings of sampling mid-step (bench/memory/run.sh reads it)
        var line = values.ToDictionary(v => v.Name, v => v.Value);
        line["rss_mb"] = MemoryReport.RssBytes() / 1048576.0;
        Run.Metrics.Append(State.Step, line, State.Epoch);
        Progress.Update(State.Step, values);
        if (State.Step % _o.CheckpointEvery == 0 || State.Step == _o.TotalSteps)
            return SaveCheckpoint();
        return null;
    }

    /// <summary>Saves a checkpoint now (e.g. at the end of an epoch); only rank 0 writes. A failed write (disk full, file
    /// too large) stops the run with a message naming the file and how to continue; the temp file is gone, earlier
    /// checkpoints intact.</summary>
    public string SaveCheckpoint()
    {
        if (!Writes) return Run.Checkpoints.PathFor(State.Step);
        try { return Run.Checkpoints.Save(State); }
        catch (UnsupException e) when (e.InnerException is IOException)
        {
            throw new UnsupException($"{e.Message}; the run stopped at step {State.Step} without this checkpoint " +
                $"(last complete one: {Run.Checkpoints.Latest ?? "none"}). Free some space, then continue with --resume {Run.Root}", e);
        }
    }

    /// <summary>Plots the named metrics to plots/loss.png (+ one PNG per extra series group) and writes summary.json.</summary>
    public void Finish(object summary, IReadOnlyList<string> plotSeries, string plotName = "loss")
    {
        Progress.Dispose();
        if (!Writes) return;
        if (plotSeries.Count > 0)
            LossPlot.WriteFromFile(Run.MetricsPath, Run.PlotPath(plotName), plotSeries, $"{_o.Label} {string.Join(", ", plotSeries)}");
        Run.WriteSummary(summary);
    }

    /// <summary>Stops the progress display and releases the run folder's lock.</summary>
    public void Dispose()
    {
        Progress.Dispose();
        _lock?.Dispose();
    }
}
