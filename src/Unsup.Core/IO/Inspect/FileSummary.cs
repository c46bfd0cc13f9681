namespace Unsup.IO.Inspect;

/// <summary>What <c>unsup inspect</c> prints about a file: its kind and ordered key/value lines.</summary>
public sealed record FileSummary(string Kind, IReadOnlyList<(string Key, string Value)> Lines);
