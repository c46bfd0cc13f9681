using Unsup.Registration.IO;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace PackageConsumer;

/// <summary>SYMNet from the Unsup.Registration package registers a brain pair: proof that the package and its
/// TorchSharp/libtorch dependencies (and, on Debian 12, the transitive libstdc++ patch) work in someone else's build.</summary>
public class RegisterPairTests
{
    static string Data(string relative) =>
        Path.Combine(Environment.GetEnvironmentVariable("UNSUP_DATA") ?? throw new InvalidOperationException("set UNSUP_DATA"), relative);

    static double Ncc(Tensor a, Tensor b)
    {
        var x = a.flatten() - a.mean(); var y = b.flatten() - b.mean();
        return ((x * y).sum() / ((x * x).sum().sqrt() * (y * y).sum().sqrt())).item<float>();
    }

    [Fact]
    public void OfficialWeightsAlignACroppedOasisPair()
    {
        using var scope = NewDisposeScope();
        var (_, fixedFull) = RegistrationInputs.ReadImage(Data("brain/oasis_pair_A.nii.gz"));
        var (_, movingFull) = RegistrationInputs.ReadImage(Data("brain/oasis_pair_B.nii.gz"));
        // a 96^3 block at the native 1 mm scale: seconds instead of a minute on 2 cores
        Tensor Crop(Tensor v) => v[TensorIndex.Slice(32, 128), TensorIndex.Slice(48, 144), TensorIndex.Slice(64, 160)].contiguous();
        var fixedImg = Crop(fixedFull); var movingImg = Crop(movingFull);

        using var reg = SymNetRegistration.FromWeights(Data("models/symnet_neurite_oasis_c7_80000.pth"));
        using var r = reg.Register(fixedImg, movingImg);

        Assert.Equal(new long[] { 1, 3, 96, 96, 96 }, r.Forward.shape);
        Assert.Equal(new long[] { 1, 3, 96, 96, 96 }, r.Inverse.shape);
        var fixedNorm = (fixedImg - fixedImg.min()) / (fixedImg.max() - fixedImg.min());
        var movingNorm = (movingImg - movingImg.min()) / (movingImg.max() - movingImg.min());
        var moved = SpatialTransformer.Warp(movingNorm.reshape(1, 1, 96, 96, 96), r.Forward)[0, 0];
        double before = Ncc(fixedNorm, movingNorm), after = Ncc(fixedNorm, moved);
        Assert.True(after > before + 0.02, $"registration did not improve NCC: {before:F3} -> {after:F3}");
    }
}
