namespace Unsup.Tests.Core.Training;

/// <summary>
/// Tests that compare runs bit for bit draw on torch's process-wide generator (dropout, init), so they must not
/// run beside other tests that draw from it: xunit runs this collection alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRngSerial
{
    public const string Name = "torch RNG (serial)";
}
