using System.Diagnostics;
using TorchSharp;

namespace Unsup.Training;

/// <summary>Numbers for "is memory flat?" log lines: process RSS and TorchSharp's live tensor count.</summary>
public static class MemoryReport
{
    /// <summary>Resident set size of this process, in bytes (fresh, not cached).</summary>
    public static long RssBytes()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }

    /// <summary>Tensors created on the calling thread and not yet disposed (TorchSharp keeps this count per thread).</summary>
    public static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    /// <summary>"RSS 312 MB, 45 live tensors".</summary>
    public static string Describe() => $"RSS {RssBytes() / (1024 * 1024)} MB, {LiveTensors} live tensors";
}
