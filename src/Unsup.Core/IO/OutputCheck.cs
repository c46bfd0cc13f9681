namespace Unsup.IO;

/// <summary>
/// Fail-early checks for outputs: a command whose --out cannot be written must say so before it loads data or trains,
/// not after an hour. The test is real: the folder is created and a probe file written and deleted in it, so
/// permissions, read-only mounts and "a path under a file" are all caught as the later writes would meet them.
/// </summary>
public static class OutputCheck
{
    /// <summary>Creates <paramref name="dir"/> if needed and checks a file can be written in it; else one UnsupException naming it.</summary>
    public static void ForFolder(string dir, string what = "output folder")
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw UnsupException.ForFile(dir, $"is a file, not a folder: cannot use it as the {what}");
        try { Directory.CreateDirectory(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(dir, $"cannot create the {what} ({Reason(e)})", e); }
        string probe = Path.Combine(full, $".unsup-write-check.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None)) { }
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(dir, $"cannot write in the {what} ({Reason(e)})", e); }
    }

    /// <summary>Checks the folder that will hold output file <paramref name="file"/> (created if needed) and that the name is not a folder.</summary>
    public static void ForFile(string file)
    {
        string full = Path.GetFullPath(file);
        if (Directory.Exists(full)) throw UnsupException.ForFile(file, "is a folder: give a file name for the output");
        ForFolder(Path.GetDirectoryName(full)!, $"folder of {Path.GetFileName(full)}");
    }

    static string Reason(Exception e) => e is UnauthorizedAccessException ? "permission denied or read-only" : e.Message;
}
