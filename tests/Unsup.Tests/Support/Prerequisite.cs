namespace Unsup.Tests;

/// <summary>
/// Tests whose reference tool or data (python3 torch/nibabel, elastix, Fashion-MNIST, shared data) may be absent on a
/// developer's machine. Outside CI a missing prerequisite skips the test; on CI (CI=true) it fails it, because a skip
/// there would hide a cross-check that silently stopped running.
/// </summary>
public static class Prerequisite
{
    /// <summary>Whether this process runs on CI (environment CI=true, as CI services and .ci/run set it).</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Continues when <paramref name="present"/>; otherwise skips the test, or fails it on CI.</summary>
    public static void Require(bool present, string missing) => Require(present, missing, InCi);

    public static void Require(bool present, string missing, bool inCi)
    {
        if (present) return;
        if (inCi) Assert.Fail($"missing on CI: {missing} (.ci/run installs the reference tools; outside CI this test is skipped)");
        throw new SkipException(missing);
    }
}
