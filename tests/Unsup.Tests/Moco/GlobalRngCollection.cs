namespace Unsup.Tests.Moco;

/// <summary>
/// Tests that assert reproducibility through torch's process-wide default generator. xunit runs test classes in
/// parallel, and any other test drawing from that generator in between would change the sequence, so these run
/// alone (after the parallel ones).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "torch default generator";
}
