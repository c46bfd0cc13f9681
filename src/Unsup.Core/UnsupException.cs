namespace Unsup;

/// <summary>
/// A problem the user can fix (bad input file, wrong shape, unwritable output, NaN loss...).
/// The CLI prints only <see cref="Exception.Message"/> (no stack trace unless --verbose) and exits non-zero,
/// so the message must name the file or option and say what is wrong with it.
/// </summary>
public class UnsupException : Exception
{
    public UnsupException(string message) : base(message) { }
    public UnsupException(string message, Exception inner) : base(message, inner) { }

    /// <summary>"FILE: problem" — the one-line form every reader uses.</summary>
    public static UnsupException ForFile(string path, string problem, Exception? inner = null)
        => inner == null ? new UnsupException($"{path}: {problem}") : new UnsupException($"{path}: {problem}", inner);
}
