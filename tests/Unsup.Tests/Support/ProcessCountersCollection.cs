namespace Unsup.Tests;

/// <summary>
/// Tests that read process-wide counters which tests running beside them would move: the live tensor handles,
/// malloc's statistics.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessCountersCollection { public const string Name = "process-wide counters"; }
