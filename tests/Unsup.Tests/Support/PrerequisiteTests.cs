namespace Unsup.Tests;

public class PrerequisiteTests
{
    [Fact]
    public void MissingPrerequisiteSkipsOutsideCiAndFailsOnCi()
    {
        Prerequisite.Require(true, "nothing", inCi: true);   // present: no effect either way
        Prerequisite.Require(true, "nothing", inCi: false);
        var skip = Assert.Throws<SkipException>(() => Prerequisite.Require(false, "elastix not installed", inCi: false));
        Assert.Equal("elastix not installed", skip.Message);
        var fail = Assert.Throws<Xunit.Sdk.FailException>(() => Prerequisite.Require(false, "elastix not installed", inCi: true));
        Assert.Contains("missing on CI: elastix not installed", fail.Message);
    }
}
