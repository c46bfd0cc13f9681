using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Unsup.Training;

public enum ProgressMode
{
    /// <summary>Live bar when stdout is an interactive terminal, plain lines otherwise (CI logs, redirected output).</summary>
    Auto,
    Live,
    Plain,
    Quiet,
}

/// <summary>
/// Training progress: step/total, rate (steps/s over this session), ETA and named live values (loss, acc).
/// A Spectre.Console bar on a terminal; in logs one plain line every <c>interval</c> plus the last step.
/// </summary>
public sealed class ProgressReporter : IDisposable
{
    readonly string _label;
    readonly long _total, _startStep;
    readonly TextWriter _out;
    readonly TimeSpan _interval;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan? _lastPrint;
    long _step;
    string _values = "";

    // live mode: Spectre's Progress.Start blocks, so it runs on its own thread until Dispose
    Thread? _liveThread;
    ProgressTask? _task;
    readonly ManualResetEventSlim _liveReady = new(), _liveDone = new();

    /// <param name="label">Shown before the counts ("moco", "symnet").</param>
    /// <param name="total">Last step of the run.</param>
    /// <param name="startStep">First step of this session (the resume step), so the rate counts only work done now.</param>
    /// <param name="output">Plain-mode destination (default stdout).</param>
    /// <param name="interval">Plain-mode spacing between lines (default 10 s).</param>
    public ProgressReporter(string label, long total, long startStep = 0, ProgressMode mode = ProgressMode.Auto,
                            TextWriter? output = null, TimeSpan? interval = null)
    {
        _label = label;
        _total = Math.Max(total, 1);
        _startStep = _step = startStep;
        _out = output ?? Console.Out;
        _interval = interval ?? TimeSpan.FromSeconds(10);
        if (mode == ProgressMode.Auto)
            mode = output == null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? ProgressMode.Live : ProgressMode.Plain;
        Mode = mode;
        if (Mode == ProgressMode.Live) StartLive();
    }

    public ProgressMode Mode { get; }

    /// <summary>Steps per second since this reporter started.</summary>
    public double Rate
    {
        get
        {
            double s = _clock.Elapsed.TotalSeconds;
            return s > 0 ? (_step - _startStep) / s : 0;
        }
    }

    /// <summary>Time left at the current rate; null until a step has been timed.</summary>
    public TimeSpan? Eta => Rate > 0 ? TimeSpan.FromSeconds((_total - _step) / Rate) : null;

    /// <summary>Call after each step with the step count done and the values to show.</summary>
    public void Update(long step, params (string Name, double Value)[] values)
    {
        _step = step;
        if (values.Length > 0)
            _values = string.Join("  ", values.Select(v => $"{v.Name} {v.Value.ToString("G4", CultureInfo.InvariantCulture)}"));
        switch (Mode)
        {
            case ProgressMode.Live when _task != null:
                _task.Value = step;
                _task.Description = Markup.Escape(LiveDescription());
                break;
            case ProgressMode.Plain:
                var now = _clock.Elapsed;
                if (step >= _total || _lastPrint is not TimeSpan last || now - last >= _interval)
                {
                    _lastPrint = now;
                    _out.WriteLine(Line());
                    _out.Flush();
                }
                break;
        }
    }

    /// <summary>A one-off message (checkpoint saved, resumed from...); above the bar in live mode.</summary>
    public void Message(string text)
    {
        if (Mode == ProgressMode.Quiet) return;
        if (Mode == ProgressMode.Live) AnsiConsole.MarkupLine(Markup.Escape(text));
        else { _out.WriteLine(text); _out.Flush(); }
    }

    /// <summary>"moco 120/1000 12.0% 34.5 it/s ETA 0:00:25 loss 0.1234".</summary>
    public string Line()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{_label} {_step}/{_total} {100.0 * _step / _total:F1}% {FormatRate(Rate)} ETA {FormatEta(Eta)}");
        if (_values.Length > 0) sb.Append("  ").Append(_values);
        return sb.ToString();
    }

    string LiveDescription() => $"{_label} {_step}/{_total} {FormatRate(Rate)} {_values}";

    static string FormatRate(double r) => r >= 1 || r == 0 ? $"{r.ToString("F1", CultureInfo.InvariantCulture)} it/s" : $"{(1 / r).ToString("F1", CultureInfo.InvariantCulture)} s/it";

    static string FormatEta(TimeSpan? eta)
    {
        if (eta is not TimeSpan t) return "--:--:--";
        if (t.TotalDays >= 1) return $"{(int)t.TotalDays}d{t.Hours:00}:{t.Minutes:00}:{t.Seconds:00}";
        return $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
    }

    void StartLive()
    {
        _liveThread = new Thread(() =>
        {
            try
            {
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        _task = ctx.AddTask(Markup.Escape(LiveDescription()), maxValue: _total);
                        _task.Value = _step;
                        _liveReady.Set();
                        _liveDone.Wait();
                        _task.Value = _step;
                        ctx.Refresh();
                    });
            }
            finally { _liveReady.Set(); }
        }) { IsBackground = true, Name = "progress" };
        _liveThread.Start();
        _liveReady.Wait();
    }

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_liveThread != null)
        {
            _liveDone.Set();
            _liveThread.Join();
            _liveThread = null;
        }
        _liveReady.Dispose();
        _liveDone.Dispose();
    }
}
