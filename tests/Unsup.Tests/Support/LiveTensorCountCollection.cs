namespace Unsup.Tests;

/// <summary>Tests that read the process-wide count of live tensor handles, which tests running beside them would move.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveTensorCountCollection { public const string Name = "live tensor count"; }
