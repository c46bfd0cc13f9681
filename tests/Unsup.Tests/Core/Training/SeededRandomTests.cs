using Unsup.Training;

namespace Unsup.Tests.Core.Training;

public class SeededRandomTests
{
    [Fact]
    public void Same_seed_same_sequence_and_saved_state_continues_it()
    {
        var a = new SeededRandom(42);
        var b = new SeededRandom(42);
        for (int i = 0; i < 10; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(new SeededRandom(43).NextUInt64(), new SeededRandom(42).NextUInt64());

        var saved = a.GetState();
        var expected = Enumerable.Range(0, 20).Select(_ => a.NextInt64(1000)).ToArray();
        var c = new SeededRandom(7);
        c.SetState(saved);
        Assert.Equal(expected, Enumerable.Range(0, 20).Select(_ => c.NextInt64(1000)).ToArray());
    }

    [Fact]
    public void Permutation_is_a_permutation_and_doubles_are_in_unit_interval()
    {
        var r = new SeededRandom(1);
        var p = r.Permutation(100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), p.OrderBy(x => x));
        Assert.NotEqual(Enumerable.Range(0, 100).Select(i => (long)i), p);
        for (int i = 0; i < 1000; i++) { var d = r.NextDouble(); Assert.InRange(d, 0.0, 0.9999999999); }
        Assert.Throws<ArgumentException>(() => r.SetState(new ulong[4]));
    }
}
