using Unsup.Registration.Metrics;
using Unsup.Registration.Training;
using static TorchSharp.torch;

using Unsup.Tests.Registration.Training;

namespace Unsup.Tests.Registration.Metrics;

/// <summary>`--dice-labels auto|freesurfer|all|FILE` and the automatic rule's treatment of partly FreeSurfer-like labellings.</summary>
public class DiceLabelChoiceTests
{
    // neurite-OASIS seg35-like: 17 ids shared with FreeSurfer's 30, the rest a labelling of its own
    static readonly long[] Seg35Like = [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 1, 5, 6, 9, 19, 20, 21, 22, 23, 25, 26, 27, 29, 30, 32, 33, 34, 35];

    [Fact]
    public void AutoTakesEveryCommonLabelWhenMapsShareOnlyPartOfTheFreeSurferSet()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(17, Seg35Like.Count(id => EvaluationLabels.FreeSurfer30.Contains(id)));
        var a = tensor(Seg35Like.Append(0L).ToArray());
        var b = tensor(Seg35Like);
        var auto = DiceLabelChoice.Auto.Resolve([a, b]);
        Assert.Equal(35, auto.Count);                     // all labels, not an arbitrary 17 of them
        Assert.Equal(17, DiceLabelChoice.FreeSurfer.Resolve([a, b]).Count);
        Assert.Equal(35, DiceLabelChoice.All.Resolve([a, b]).Count);

        // one FreeSurfer map and one seg35 map: not all maps are FreeSurfer, so every common label
        var fs = tensor(EvaluationLabels.FreeSurfer30.Append(77L).ToArray());
        Assert.Equal(Seg35Like.Where(id => EvaluationLabels.FreeSurfer30.Contains(id)).OrderBy(v => v), DiceLabelChoice.Auto.Resolve([fs, b]));
        Assert.Equal(31, DiceLabelChoice.All.Resolve([fs, fs]).Count);
        Assert.Equal(30, DiceLabelChoice.Auto.Resolve([fs, fs]).Count);
    }

    [Fact]
    public void FileListsIdsAndBadFilesAreNamed()
    {
        using var dir = TestData.Temp();
        var f = dir.File("ids.txt");
        File.WriteAllText(f, "# hippocampus and amygdala\n17, 53\n18 54  # amygdala\n17\n");
        var c = DiceLabelChoice.Parse(f);
        Assert.Equal([17L, 18L, 53L, 54L], c.Ids!);
        using var scope = NewDisposeScope();
        Assert.Equal([17L, 18L, 53L, 54L], c.Resolve([tensor(new long[] { 1, 2 })]));
        Assert.Same(DiceLabelChoice.FreeSurfer, DiceLabelChoice.Parse("FreeSurfer"));

        var bad = dir.File("bad.txt");
        File.WriteAllText(bad, "17 hippo\n");
        var e = Assert.Throws<UnsupException>(() => DiceLabelChoice.Parse(bad));
        Assert.Contains("bad.txt", e.Message);
        Assert.Contains("'hippo'", e.Message);
        Assert.Contains("neither auto, freesurfer, all", Assert.Throws<UnsupException>(() => DiceLabelChoice.Parse(dir.File("missing.txt"))).Message);
    }

    [Fact]
    public void TrainingUsesTheChosenLabelsAndNccWindow()
    {
        using var scope = NewDisposeScope();
        var (images, labels) = SyntheticPairs.Subjects2D(4, n: 16);
        using var data = new SymNetTrainingData(images, labels, validationCount: 2);
        Assert.Equal([1L, 2L], data.EvalLabels);
        using var dir = TestData.Temp();
        File.WriteAllText(dir.File("one.txt"), "2\n");
        data.UseDiceLabels(DiceLabelChoice.Parse(dir.File("one.txt")));
        Assert.Equal([2L], data.EvalLabels);
        data.UseDiceLabels(DiceLabelChoice.FreeSurfer);   // of the blob labels 1, 2 only 2 is a FreeSurfer id (left cerebral white matter)
        Assert.Equal([2L], data.EvalLabels);

        using var trainer = new SymNetTrainer(new SymNetTrainConfig { NccWindow = 5, StartChannels = 2 }, dims: 3);
        Assert.Equal(5, trainer.Loss.Window);
        using var standard = new SymNetTrainer(new SymNetTrainConfig { StartChannels = 2 }, dims: 3);
        Assert.Equal(7, standard.Loss.Window);
        Assert.Contains("--ncc-window 4", Assert.Throws<UnsupException>(() => new SymNetTrainConfig { NccWindow = 4 }.Validate()).Message);
    }
}
