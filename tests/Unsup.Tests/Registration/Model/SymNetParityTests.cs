using Unsup.Registration.Losses;
using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Model;

/// <summary>Unsup's SYMNet inference against the official PyTorch logic, with the official pretrained weights.</summary>
public class SymNetParityTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void OfficialWeightsOnOasisPairMatchPyTorchReference()
    {
        var refDir = SymNetReference.OasisPair();
        using var scope = NewDisposeScope();
        var fixedImage = TestNpy.ReadFloat32(Path.Combine(refDir, "fixed.npy"));
        var movingImage = TestNpy.ReadFloat32(Path.Combine(refDir, "moving.npy"));
        Assert.Equal(new long[] { 160, 192, 224 }, fixedImage.shape);

        using var reg = SymNetRegistration.FromWeights(SymNetReference.Weights);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var fields = reg.Fields(fixedImage, movingImage);
        double seconds = sw.Elapsed.TotalSeconds;
        // the moved images as the official code computes them: the normalised images warped by the full maps
        var fixedNorm = IntensityNormalization.MinMax(fixedImage.reshape(1, 1, 160, 192, 224));
        var movingNorm = IntensityNormalization.MinMax(movingImage.reshape(1, 1, 160, 192, 224));
        var moved = SpatialTransformer.Warp(movingNorm, fields.FullYX);
        var movedFixed = SpatialTransformer.Warp(fixedNorm, fields.FullXY);

        double Diff(Tensor mine, string file)
        {
            var theirs = TestNpy.ReadFloat32(Path.Combine(refDir, file));
            Assert.Equal(theirs.shape, mine[0].shape);
            return (mine[0] - theirs).abs().max().item<float>();
        }

        double dYX = Diff(fields.FullYX, "flow_yx.npy");
        double dXY = Diff(fields.FullXY, "flow_xy.npy");
        double dHalfX = Diff(fields.HalfXY, "half_xy.npy");
        double dHalfY = Diff(fields.HalfYX, "half_yx.npy");
        double dMoved = Diff(moved[.., 0], "moved.npy");
        double dMovedFixed = Diff(movedFixed[.., 0], "moved_fixed.npy");
        double maxFlow = fields.FullYX.abs().max().item<float>();
        var pySeconds = File.ReadAllText(Path.Combine(refDir, "timing.txt")).Trim();
        output.WriteLine($"max |diff| F_YX {dYX:E3}, F_XY {dXY:E3}, half X {dHalfX:E3}, half Y {dHalfY:E3} voxels; moved {dMoved:E3}, moved fixed {dMovedFixed:E3}; max |F_YX| {maxFlow:F2} voxels");
        var peak = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM")) : null;
        output.WriteLine($"peak memory of the test process: {peak}");
        output.WriteLine($"registration time: Unsup {seconds:F2} s, PyTorch reference {pySeconds} s (threads {get_num_threads()})");

        Assert.True(maxFlow > 1, "the fields should be a real deformation, not ~0");

        // and the registration does its job on this real pair
        using var ncc = new LocalNcc(7);
        float nccBefore = ncc.forward(fixedNorm, movingNorm).item<float>();
        float nccAfter = ncc.forward(fixedNorm, moved).item<float>();
        var ev = RegistrationEvaluation.Evaluate(fields.FullYX, fields.FullXY);
        output.WriteLine($"NCC loss before {nccBefore:F4} after {nccAfter:F4}; det J <= 0: {ev.PercentNonPositiveJacobian:F4}%, std log det J {ev.StdLogJacobian:F4}, inverse consistency {ev.InverseConsistencyError:F4} voxels");
        Assert.True(nccAfter < nccBefore - 0.05, $"NCC loss {nccBefore} -> {nccAfter}");
        Assert.True(ev.PercentNonPositiveJacobian < 0.5, $"{ev.PercentNonPositiveJacobian}% folded voxels");
        Assert.True(dYX <= 1e-3, $"forward field differs by {dYX} voxels");
        Assert.True(dXY <= 1e-3, $"inverse field differs by {dXY} voxels");
        Assert.True(dHalfX <= 1e-3 && dHalfY <= 1e-3, $"half-way fields differ by {dHalfX}, {dHalfY} voxels");
        Assert.True(dMoved <= 1e-3, $"moved image differs by {dMoved}");
        Assert.True(dMovedFixed <= 1e-3, $"moved fixed image differs by {dMovedFixed}");
    }
}
