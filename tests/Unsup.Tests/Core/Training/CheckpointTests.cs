using TorchSharp;
using Unsup.Training;
using static TorchSharp.torch;
using static Unsup.Tests.Core.Training.TrainingTestModels;

namespace Unsup.Tests.Core.Training;

[Collection(TorchRngSerial.Name)]
public class CheckpointTests
{
    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void Round_trip_restores_model_optimizer_and_generators_so_the_next_steps_are_identical(string kind)
    {
        using var dir = TestData.Temp();
        var path = Path.Combine(dir.Path, "a.ckpt");
        var (x, y) = RegressionData();
        using var _x = x; using var _y = y;

        Determinism.Seed(3);
        using var m1 = Mlp();
        using var o1 = Optimizer(kind, m1);
        var r1 = new SeededRandom(5);
        using var queue1 = randn(6, 3);
        Steps(m1, o1, x, y, 3);                       // momentum / Adam moments now non-trivial
        r1.NextUInt64();
        var s1 = new TrainingState { Step = 3, Epoch = 1 }.AddModule("model", m1).AddOptimizer("opt", o1).AddRandom("shuffle", r1).AddTensor("queue", queue1);
        s1.Scalars["queuePtr"] = 4;
        s1.Strings["note"] = "hello";
        Checkpoint.Save(path, s1);
        Steps(m1, o1, x, y, 2);                       // dropout draws from the saved torch generator state
        var expected = Weights(m1);
        var expectedRandom = r1.NextUInt64();

        Determinism.Seed(99);                         // different init and generator: everything must come from the file
        using var m2 = Mlp();
        using var o2 = Optimizer(kind, m2);
        var r2 = new SeededRandom(6);
        using var queue2 = zeros(6, 3);
        var s2 = new TrainingState().AddModule("model", m2).AddOptimizer("opt", o2).AddRandom("shuffle", r2).AddTensor("queue", queue2);
        using (NewDisposeScope()) Checkpoint.Restore(path, s2);   // inside a scope: restored optimizer buffers must survive it
        Assert.Equal(3, s2.Step);
        Assert.Equal(1, s2.Epoch);
        Assert.Equal(4, s2.Scalars["queuePtr"]);
        Assert.Equal("hello", s2.Strings["note"]);
        Assert.True(queue1.eq(queue2).all().item<bool>());
        Steps(m2, o2, x, y, 2);
        Assert.Equal(expected, Weights(m2));
        Assert.Equal(expectedRandom, r2.NextUInt64());
    }

    static string SaveSmall(string dir, nn.Module m, string name = "a.ckpt")
    {
        var path = Path.Combine(dir, name);
        Checkpoint.Save(path, new TrainingState { Step = 7 }.AddModule("model", m));
        return path;
    }

    [Fact]
    public void Truncated_or_corrupt_files_give_a_clear_error_naming_the_file()
    {
        using var dir = TestData.Temp();
        using var m = Mlp();
        var path = SaveSmall(dir.Path, m);
        var bytes = File.ReadAllBytes(path);

        var truncated = Path.Combine(dir.Path, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<UnsupException>(() => Checkpoint.Restore(truncated, new TrainingState().AddModule("model", m)));
        Assert.StartsWith(truncated + ": ", e.Message);
        Assert.Contains("truncated", e.Message);

        var tiny = Path.Combine(dir.Path, "tiny.ckpt");
        File.WriteAllBytes(tiny, bytes[..5]);
        e = Assert.Throws<UnsupException>(() => Checkpoint.Read(tiny));
        Assert.Contains("truncated", e.Message);

        var flipped = Path.Combine(dir.Path, "flipped.ckpt");
        var copy = (byte[])bytes.Clone();
        copy[copy.Length / 2] ^= 0x40;
        File.WriteAllBytes(flipped, copy);
        e = Assert.Throws<UnsupException>(() => Checkpoint.Read(flipped));
        Assert.StartsWith(flipped + ": ", e.Message);
        Assert.Contains("checksum", e.Message);

        var other = Path.Combine(dir.Path, "other.ckpt");
        File.WriteAllText(other, "this is not a checkpoint at all, just some text long enough to pass the size check........");
        e = Assert.Throws<UnsupException>(() => Checkpoint.Read(other));
        Assert.Contains("not an unsup checkpoint", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_the_parameter_and_both_shapes_and_changes_nothing()
    {
        using var dir = TestData.Temp();
        using var small = Mlp(hidden: 8);
        var path = SaveSmall(dir.Path, small);
        using var big = Mlp(hidden: 9);
        var before = Weights(big);
        var e = Assert.Throws<UnsupException>(() => Checkpoint.Restore(path, new TrainingState().AddModule("model", big)));
        Assert.Contains("'0.weight'", e.Message);
        Assert.Contains("[8, 4]", e.Message);
        Assert.Contains("[9, 4]", e.Message);
        Assert.StartsWith(path, e.Message);
        Assert.Equal(before, Weights(big));
    }

    [Fact]
    public void Missing_module_key_or_module_is_named()
    {
        using var dir = TestData.Temp();
        using var shallow = nn.Sequential(("0", nn.Linear(4, 8)));
        var path = SaveSmall(dir.Path, shallow);
        using var deep = Mlp();
        var e = Assert.Throws<UnsupException>(() => Checkpoint.Restore(path, new TrainingState().AddModule("model", deep)));
        Assert.Contains("'3.weight'", e.Message);
        e = Assert.Throws<UnsupException>(() => Checkpoint.Restore(path, new TrainingState().AddModule("encoderK", shallow)));
        Assert.Contains("no module 'encoderK'", e.Message);
        Assert.Contains("'model'", e.Message);
    }

    [Fact]
    public void Store_keeps_last_K_points_latest_and_ignores_leftover_temp_files()
    {
        using var dir = TestData.Temp();
        using var m = nn.Linear(2, 2);
        var store = new CheckpointStore(Path.Combine(dir.Path, "checkpoints"), keep: 2);
        Assert.Null(store.Latest);
        var state = new TrainingState().AddModule("m", m);
        for (long s = 10; s <= 50; s += 10) { state.Step = s; store.Save(state); }
        Assert.Equal([40L, 50L], store.List().Select(c => c.Step));
        Assert.Equal(store.PathFor(50), store.Latest);
        Assert.EndsWith("step-000050.ckpt", store.Latest);

        // what a kill in the middle of writing step 60 leaves behind: AtomicFile's temp file
        File.WriteAllText(Path.Combine(store.Directory, ".step-000060.ckpt.1234.abcdef.tmp"), "half a checkpoint");
        Assert.Equal(store.PathFor(50), store.Latest);
        Assert.Equal([40L, 50L], store.List().Select(c => c.Step));

        // killed between the checkpoint's rename and the pointer's: the highest complete file wins
        File.Delete(Path.Combine(store.Directory, CheckpointStore.PointerName));
        Assert.Equal(store.PathFor(50), store.Latest);

        var restored = new TrainingState().AddModule("m", m);
        Assert.True(store.TryRestoreLatest(restored));
        Assert.Equal(50, restored.Step);
    }
}
