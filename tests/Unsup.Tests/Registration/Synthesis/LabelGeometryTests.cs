using Unsup.IO.Nifti;
using Unsup.Registration.Metrics;
using Unsup.Registration.Synthesis;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Synthesis;

/// <summary>Random deformation of label maps, and the crop / downsampling that bring maps to a training grid.</summary>
public class LabelGeometryTests
{
    static long[] Values(Tensor t) => t.unique().Item1.data<long>().ToArray();

    [Fact]
    public void NoDeformationIsTheIdentityAndADeformationInventsNoLabel()
    {
        using var scope = NewDisposeScope();
        var labels = SynthesisTests.Phantom();
        using var gen = new TorchSharp.torch.Generator(5);
        Assert.True((RandomDeformation.None.Apply(labels, gen) == labels).all().item<bool>());
        var d = new RandomDeformation { MaxRotationDegrees = 15, MaxScaling = 0.15, MaxVelocityStd = 2, VelocityScale = 0.15 };
        using var g1 = new TorchSharp.torch.Generator(11);
        var moved = d.Apply(labels, g1);
        Assert.Equal(labels.shape, moved.shape);
        Assert.Equal(ScalarType.Int64, moved.dtype);
        Assert.False((moved == labels).all().item<bool>());
        Assert.Subset(Values(labels).ToHashSet(), Values(moved).ToHashSet());
        using var g2 = new TorchSharp.torch.Generator(11);
        Assert.True((d.Apply(labels, g2) == moved).all().item<bool>());   // seeded
    }

    [Fact]
    public void ATranslationOnlyDeformationIsAConstantShift()
    {
        using var scope = NewDisposeScope();
        var d = RandomDeformation.None with { MaxTranslationVoxels = 3 };
        using var gen = new TorchSharp.torch.Generator(2);
        var u = d.Displacement([10, 12, 14], gen);
        Assert.Equal([1L, 3, 10, 12, 14], u.shape);
        var first = u[0, TensorIndex.Colon, 0, 0, 0].reshape(1, 3, 1, 1, 1);
        Assert.True((u - first).abs().max().item<float>() < 1e-5f);
        Assert.True(first.abs().max().item<float>() is > 0 and <= 3f);
        // a map shifted by whole voxels: the synthesised object moves, its label set is kept
        var rot = RandomDeformation.None with { MaxRotationDegrees = 10 };
        using var g3 = new TorchSharp.torch.Generator(3);
        var ur = rot.Displacement([21, 21, 21], g3);
        Assert.True(ur[0, TensorIndex.Colon, 10, 10, 10].abs().max().item<float>() < 1e-5f);   // rotation about the centre fixes it
    }

    [Fact]
    public void AffineDeformationHasTheDeterminantOfItsScaling()
    {
        using var scope = NewDisposeScope();
        var d = RandomDeformation.None with { MaxScaling = 0.2 };
        using var gen = new TorchSharp.torch.Generator(9);
        var u = d.Displacement([16, 16, 16], gen);
        var det = JacobianDeterminant.Compute(u);
        // a pure scaling: det J is the same everywhere and ≠ 1
        Assert.True((det - det.mean()).abs().max().item<float>() < 1e-3f);
        Assert.True(Math.Abs(det.mean().item<float>() - 1) > 1e-3);
    }

    static string WriteMap(TempDir dir, string name, Tensor labels, double[,]? affine = null)
    {
        string path = dir.File(name);
        NiftiWriter.Write(path, NiftiImage.Create(labels.to(ScalarType.Int16), affine, "", NiftiIntent.Label));
        return path;
    }

    static Tensor Head(long shift)
    {
        var l = zeros([40, 36, 32], ScalarType.Int64);
        l[TensorIndex.Slice(2, 38), TensorIndex.Slice(2, 34), TensorIndex.Slice(2, 30)] = tensor(507L);   // scalp
        l[TensorIndex.Slice(6, 30), TensorIndex.Slice(8, 28), TensorIndex.Slice(6, 26)] = tensor(24L);    // outer CSF
        l[TensorIndex.Slice(8 + shift, 28 + shift), TensorIndex.Slice(10, 26), TensorIndex.Slice(8, 24)] = tensor(3L);
        l[TensorIndex.Slice(12 + shift, 24 + shift), TensorIndex.Slice(13, 23), TensorIndex.Slice(11, 21)] = tensor(2L);
        return l;
    }

    [Fact]
    public void PreparationStripsTheSkullCropsAroundEachBrainDownsamplesAndMovesTheAffine()
    {
        using var scope = NewDisposeScope();
        using var dir = TestData.Temp();
        var affine = new double[,] { { -1, 0, 0, 20 }, { 0, 1, 0, -18 }, { 0, 0, 1, -16 }, { 0, 0, 0, 1 } };
        var a = WriteMap(dir, "a.nii.gz", Head(0), affine);
        var b = WriteMap(dir, "b.nii.gz", Head(4), affine);
        using var maps = LabelMapPreparation.Load([a, b], new LabelMapGeometry { Margin = 2, Downsample = 2 });
        // brain box 20x16x16 + 2 voxels each side = 24x20x20, halved
        Assert.Equal([2L, 12, 10, 10], maps.Labels.shape);
        Assert.Equal([0L, 2, 3], Values(maps.Labels));                       // 507 and 24 gone, nothing new
        // each crop is centred on its own brain, so the shifted brain lands on the same voxels
        Assert.True((maps.Labels[0] == maps.Labels[1]).all().item<bool>());
        Assert.Equal([6L, 8, 6], maps.Boxes[0]!.Start);
        Assert.Equal([10L, 8, 6], maps.Boxes[1]!.Start);
        // world position of output voxel 0: the centre of input voxels (6,7) on axis 0 → x = 20 - 6.5
        Assert.Equal(20 - 6.5, maps.Affines[0][0, 3], 6);
        Assert.Equal(-2.0, maps.Affines[0][0, 0], 6);
        Assert.Equal(-18 + 8.5, maps.Affines[0][1, 3], 6);
    }

    [Fact]
    public void ACropLargerThanTheVolumeIsZeroPaddedAndKeepGridKeepsEverything()
    {
        using var scope = NewDisposeScope();
        using var dir = TestData.Temp();
        var a = WriteMap(dir, "a.nii.gz", Head(0));
        using var big = LabelMapPreparation.Load([a], new LabelMapGeometry { CropSize = [48, 40, 36] });
        Assert.Equal([1L, 48, 40, 36], big.Labels.shape);
        Assert.Equal(Head(0).eq(3).sum().item<long>(), big.Labels.eq(3).sum().item<long>());
        using var kept = LabelMapPreparation.Load([a], new LabelMapGeometry { KeepGrid = true, BrainOnly = false });
        Assert.True((kept.Labels[0] == Head(0)).all().item<bool>());
    }

    [Fact]
    public void WholeHeadMapsAreCroppedAroundTheBrainAsSkullStrippedOnesAre()
    {
        using var scope = NewDisposeScope();
        using var dir = TestData.Temp();
        var paths = new[] { WriteMap(dir, "a.nii.gz", Head(0)), WriteMap(dir, "b.nii.gz", Head(6)) };
        using var stripped = LabelMapPreparation.Load(paths, new LabelMapGeometry());
        using var head = LabelMapPreparation.Load(paths, new LabelMapGeometry { BrainOnly = false });
        // the same boxes (the brain's, not the scalp's), so the brains line up alike; only the labels kept differ
        Assert.Equal(stripped.Labels.shape, head.Labels.shape);
        Assert.Equal([2L, 28, 24, 24], head.Labels.shape);   // brain box 20x16x16 + 4 voxels each side
        Assert.True((head.Labels.where(head.Labels < 24, zeros_like(head.Labels)) == stripped.Labels).all().item<bool>());
        Assert.True(head.Labels.eq(507).any().item<bool>() && !stripped.Labels.eq(507).any().item<bool>());
    }

    [Fact]
    public void BadLabelMapsAreErrorsNamingTheFile()
    {
        using var scope = NewDisposeScope();
        using var dir = TestData.Temp();
        string img = dir.File("t1.nii.gz");
        NiftiWriter.Write(img, NiftiImage.Create(rand(8, 8, 8)));
        var e = Assert.Throws<UnsupException>(() => LabelMapPreparation.Load([img], new LabelMapGeometry()));
        Assert.Contains("t1.nii.gz", e.Message);
        Assert.Contains("non-integer", e.Message);
        string empty = WriteMap(dir, "empty.nii.gz", full(8, 8, 8, 507L));
        var e2 = Assert.Throws<UnsupException>(() => LabelMapPreparation.Load([empty], new LabelMapGeometry()));
        Assert.Contains("empty.nii.gz", e2.Message);
        Assert.Contains("no brain label", e2.Message);
        var e3 = Assert.Throws<UnsupException>(() => LabelMapPreparation.Load([dir.File("nope.nii.gz")], new LabelMapGeometry()));
        Assert.Contains("nope.nii.gz", e3.Message);
    }
}

/// <summary>Which labels Dice is averaged over.</summary>
public class EvaluationLabelsTests
{
    [Fact]
    public void FreeSurferMapsUseVoxelMorphsStructuresOtherMapsEveryCommonLabel()
    {
        using var scope = NewDisposeScope();
        // FreeSurfer-like: the 30 evaluation ids minus 24/31/63, plus a tiny vessel (30) and an id only one map has (77)
        var fs = EvaluationLabels.FreeSurfer30.Where(id => id is not (24 or 31 or 63)).Append(30L).ToArray();
        var a = tensor(fs.Append(77L).ToArray());
        var b = tensor(fs);
        var chosen = EvaluationLabels.For([a, b]);
        Assert.Equal(27, chosen.Count);
        Assert.DoesNotContain(30L, chosen);      // not an evaluation structure
        Assert.DoesNotContain(77L, chosen);      // not in every map
        // a labelling of its own (ids 1, 2, 5): every label present in all maps
        Assert.Equal([1L, 2L, 5L], EvaluationLabels.For([tensor(new long[] { 0, 1, 2, 5 }), tensor(new long[] { 1, 2, 5, 9 })]));
    }
}
