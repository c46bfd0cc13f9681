namespace Unsup.Bench.Tests;

/// <summary>bench/Unsup.Bench.Moco at toy sizes: each verb runs end to end and writes its table.</summary>
public class MocoBenchTests
{
    const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    [SkippableFact]
    public void MemoryVerbComparesUnsupWithPyTorch()
    {
        TestData.Python("print(1)", "torch", "torchvision");
        using var tmp = TestData.Temp();
        int rc = Unsup.Bench.Moco.Program.Main(["memory", "--steps", "1", "--batch", "8", "--splits", "2", "--queue", "64", "--threads", "1", "--out", tmp.Path]);
        Assert.Equal(0, rc);
        var md = File.ReadAllLines(tmp.File("memory.md"));
        var unsup = Assert.Single(md, l => l.StartsWith("| Unsup (TorchSharp) |"));
        var torch = Assert.Single(md, l => l.StartsWith("| PyTorch 1."));
        foreach (var row in new[] { unsup, torch })
            Assert.True(int.Parse(row.Split('|')[3]) > 50, row);   // peak MB of a process that ran a ResNet-18 step
    }

    [SkippableFact]
    public void FashionMnistVerbTrainsAndReportsKnn()
    {
        Prerequisite.Require(File.Exists(Path.Combine(FashionMnist, "train-images-idx3-ubyte.gz")), "Debian's dataset-fashion-mnist not installed");
        using var tmp = TestData.Temp();
        int rc = Unsup.Bench.Moco.Program.Main(["fashion-mnist", "--train", "256", "--bank", "256", "--test", "100", "--width", "4",
                                                "--batch", "64", "--epochs", "1", "--minutes", "2", "--threads", "1", "--out", tmp.Path]);
        Assert.True(rc is 0 or 3, $"exit code {rc}");   // 3: four steps need not improve kNN
        var md = File.ReadAllText(tmp.File("fashion-mnist.md"));
        Assert.Contains("| raw pixels (bank 256) |", md);
        Assert.Contains("| encoder at random initialisation |", md);
        Assert.Contains("(1 full epochs)", md);
        Assert.Contains("epoch 1:", File.ReadAllText(tmp.File("fashion-mnist.log")));
    }

    [Fact]
    public void EveryOptionTheUsageListsIsAccepted()
    {
        // the supervised verb's --lr, --crop-min-scale and --stem-stride were listed but refused as unknown
        var names = System.Text.RegularExpressions.Regex.Matches(Unsup.Bench.Moco.Program.Usage, @"--([a-z0-9-]+)")
            .Select(m => m.Groups[1].Value).Where(n => n != "help").Distinct().ToList();
        Assert.Contains("stem-stride", names);
        foreach (var name in names)
        {
            var a = Unsup.Bench.Moco.BenchArgs.Parse(name == "raw-k1" ? ["--" + name] : ["--" + name, "1"]);
            Assert.True(a.Flag(name), name);
        }
    }

    [Fact]
    public void BadArgumentsAreUsageErrors()
    {
        Assert.Equal(2, Unsup.Bench.Moco.Program.Main([]));
        Assert.Equal(2, Unsup.Bench.Moco.Program.Main(["no-such-verb"]));
        Assert.Equal(2, Unsup.Bench.Moco.Program.Main(["memory", "--batch", "10", "--splits", "8"]));
        Assert.Equal(2, Unsup.Bench.Moco.Program.Main(["memory", "--no-such-option", "1"]));
    }
}
