using System.Globalization;
using Unsup.IO;

namespace Unsup.Training;

/// <summary>
/// One writer per run folder: RUN/.lock held open with FileShare.None, which .NET turns into an exclusive
/// flock(2) on Unix (a share-mode lock on Windows). The operating system drops the lock when the process ends,
/// however it ends, so a killed run never leaves its folder locked: the file may stay, the lock does not.
/// RUN/.lock.owner names the holder (pid, host, start time) for the refusal message, since a locked file cannot be read.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = ".lock";
    const string OwnerName = ".lock.owner";

    readonly FileStream _stream;

    RunLock(FileStream stream, string path) { _stream = stream; Path = path; }

    public string Path { get; }

    /// <summary>Takes the lock of <paramref name="root"/> (created if needed) or throws an UnsupException naming the folder and the holder.</summary>
    public static RunLock Acquire(string root)
    {
        string full = System.IO.Path.GetFullPath(root);
        OutputCheck.ForFolder(full, "run folder");
        string path = System.IO.Path.Combine(full, FileName);
        string owner = System.IO.Path.Combine(full, OwnerName);
        FileStream fs;
        try { fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            string who = File.Exists(owner) ? TryRead(owner) : "";
            throw UnsupException.ForFile(full,
                $"is in use by another unsup process{(who.Length > 0 ? $" ({who})" : "")}: two runs cannot write one folder. " +
                "Wait for it to finish (or stop it), or choose another output folder", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, $"cannot create the run's lock file ({e.Message})", e); }
        try
        {
            AtomicFile.WriteAllText(owner, string.Create(CultureInfo.InvariantCulture,
                $"pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n"));
        }
        catch { fs.Dispose(); throw; }
        return new RunLock(fs, path);
    }

    /// <summary>The lock is taken (flock's EWOULDBLOCK on Unix, a sharing violation on Windows), as opposed to a
    /// full disk or a permission problem, which must not be reported as "in use".</summary>
    static bool IsHeldElsewhere(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) == 32 : e.HResult == 11 /* EAGAIN = EWOULDBLOCK on Linux */;

    static string TryRead(string p) { try { return File.ReadAllText(p).Trim(); } catch (IOException) { return ""; } }

    /// <summary>Releases the lock (the file stays: deleting it would race with a process that just opened it).</summary>
    public void Dispose() => _stream.Dispose();
}
