using Unsup.Bench.Registration;

namespace Unsup.Bench.Tests;

/// <summary>A stopped registration benchmark goes on where it stopped, and only with unchanged inputs.</summary>
public class PairResultStoreTests
{
    [Fact]
    public void Finished_results_are_reused_and_anything_changed_is_measured_again()
    {
        using var tmp = TestData.Temp();
        string work = tmp.File("work");
        int calls = 0;
        PairResult Measure(double dice) { calls++; return new PairResult(dice, 0.01, 0.2, 1.5); }

        var first = new PairResultStore(work, "pairs A");
        Assert.Equal(0.5, first.GetOrMeasure("SyN|iters 10", "08c0<-09c1", () => Measure(0.5), out bool reused).Dice);
        Assert.False(reused);
        first.GetOrMeasure("SyN|iters 10", "09c0<-08c1", () => Measure(0.6), out _);
        Assert.Equal(2, calls);

        // a new run of the same benchmark: both reused exactly, nothing measured
        var again = new PairResultStore(work, "pairs A");
        var r = again.GetOrMeasure("SyN|iters 10", "08c0<-09c1", () => Measure(0.9), out reused);
        Assert.True(reused);
        Assert.Equal(new PairResult(0.5, 0.01, 0.2, 1.5), r);
        Assert.Equal(2, calls);
        Assert.Single(again.CpusOf(["SyN|iters 10"]));
        // another method key (changed parameters) or another data key is measured afresh
        Assert.Equal(0.7, again.GetOrMeasure("SyN|iters 20", "08c0<-09c1", () => Measure(0.7), out reused).Dice);
        Assert.False(reused);
        Assert.Equal(0.8, new PairResultStore(work, "pairs B").GetOrMeasure("SyN|iters 10", "08c0<-09c1", () => Measure(0.8), out reused).Dice);
        Assert.False(reused);
        Assert.Equal(4, calls);
    }

    [Fact]
    public void A_line_cut_short_by_a_kill_is_measured_again()
    {
        using var tmp = TestData.Temp();
        string work = tmp.File("work");
        var store = new PairResultStore(work, "pairs");
        store.GetOrMeasure("m", "p1", () => new PairResult(0.5, 0, 0, 1), out _);
        File.AppendAllText(store.FilePath, "m\tp2\t0.6\t0\t0");     // killed while writing
        int calls = 0;
        var resumed = new PairResultStore(work, "pairs");
        resumed.GetOrMeasure("m", "p1", () => { calls++; return default; }, out bool reused1);
        var p2 = resumed.GetOrMeasure("m", "p2", () => { calls++; return new PairResult(0.61, 0, 0, 1); }, out bool reused2);
        Assert.True(reused1);
        Assert.False(reused2);
        Assert.Equal(0.61, p2.Dice);
        Assert.Equal(1, calls);
        // the new line did not run on from the cut one: a third run reads it
        Assert.Equal(0.61, new PairResultStore(work, "pairs").GetOrMeasure("m", "p2", () => default, out bool reused3).Dice);
        Assert.True(reused3);
    }

    [Fact]
    public void File_keys_follow_content_not_names_alone()
    {
        using var tmp = TestData.Temp();
        string f = tmp.File("affine.txt");
        File.WriteAllText(f, "(Transform \"AffineTransform\")");
        string k1 = PairResultStore.FileKey(f);
        File.WriteAllText(f, "(Transform \"EulerTransform\")");
        Assert.NotEqual(k1, PairResultStore.FileKey(f));
        Assert.EndsWith(":missing", PairResultStore.FileKey(tmp.File("absent.txt")));
    }
}
