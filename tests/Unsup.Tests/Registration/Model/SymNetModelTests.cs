using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Model;

public class SymNetModelTests
{
    [Fact]
    public void ParameterNamesAndShapesFollowTheOfficialModel()
    {
        using var model = new SymNet(startChannels: 7);
        var sd = model.state_dict();
        Assert.Equal(46, sd.Count);
        Assert.Equal(new long[] { 7, 2, 3, 3, 3 }, sd["eninput.0.weight"].shape);
        Assert.Equal(new long[] { 112, 56, 3, 3, 3 }, sd["ec8.0.weight"].shape);
        Assert.Equal(new long[] { 28, 28, 3, 3, 3 }, sd["dc5.0.weight"].shape);
        Assert.Equal(new long[] { 3, 14, 5, 5, 5 }, sd["dc9.0.weight"].shape);
        Assert.False(sd.ContainsKey("dc9.0.bias"));
        Assert.Equal(new long[] { 56, 56, 2, 2, 2 }, sd["up1.0.weight"].shape);
        Assert.True(sd.ContainsKey("up4.0.bias"));
    }

    [Fact]
    public void TwoDimensionalVariantGivesTwoVelocitiesPerPixel()
    {
        using var scope = NewDisposeScope();
        using var model = new SymNet(startChannels: 4, dims: 2);
        var (a, b) = model.forward(rand([3, 1, 32, 48]), rand([3, 1, 32, 48]));
        Assert.Equal(new long[] { 3, 2, 32, 48 }, a.shape);
        Assert.Equal(new long[] { 3, 2, 32, 48 }, b.shape);
        Assert.True(a.abs().max().item<float>() < 1f, "Softsign bounds the heads");
        Assert.Equal(new long[] { 8, 4, 3, 3 }, model.state_dict()["ec2.0.weight"].shape);
    }

    [Fact]
    public void RegistrationPadsOddSizesAndCropsBack()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var model = new SymNet(startChannels: 2);
        using var reg = new SymNetRegistration(model, ownsModel: true);
        var fixedImage = rand([18, 20, 30]) * 500;
        var movingImage = rand([18, 20, 30]) * 80 + 3;
        using var r = reg.Register(fixedImage, movingImage);
        Assert.Equal(new long[] { 1, 3, 18, 20, 30 }, r.Forward.shape);
        Assert.Equal(new long[] { 1, 3, 18, 20, 30 }, r.Inverse.shape);
        Assert.True(r.Forward.isfinite().all().item<bool>());
        Assert.False(r.Forward.requires_grad);
        // every field of the pass is cropped back too, and the full maps are those Register returns
        using var f = reg.Fields(fixedImage, movingImage);
        foreach (var t in new[] { f.VelocityXY, f.HalfYX, f.HalfXYInverse, f.FullXY })
            Assert.Equal(new long[] { 1, 3, 18, 20, 30 }, t.shape);
        Assert.True(f.FullYX.allclose(r.Forward, rtol: 0, atol: 1e-6));
        Assert.True(f.FullXY.allclose(r.Inverse, rtol: 0, atol: 1e-6));

        // 2D, batched
        using var reg2 = new SymNetRegistration(new SymNet(2, dims: 2), ownsModel: true);
        using var r2 = reg2.Register(rand([2, 1, 30, 45]), rand([2, 1, 30, 45]));
        Assert.Equal(new long[] { 2, 2, 30, 45 }, r2.Forward.shape);
    }

    [Fact]
    public void MismatchedShapesAreReportedAsUserErrors()
    {
        using var scope = NewDisposeScope();
        using var reg = new SymNetRegistration(new SymNet(2), ownsModel: true);
        var e = Assert.Throws<UnsupException>(() => reg.Register(rand([16, 16, 16]), rand([16, 16, 32])));
        Assert.Contains("differ in shape", e.Message);
        var e2 = Assert.Throws<UnsupException>(() => reg.Register(rand([2, 16, 16, 16]), rand([2, 16, 16, 16])));
        Assert.Contains("3D SYMNet expects", e2.Message);
    }

    [Fact]
    public void WeightsRoundTripAndMismatchesNameTheKeys()
    {
        using var tmp = TestData.Temp();
        using var scope = NewDisposeScope();
        manual_seed(9);
        using var a = new SymNet(3, dims: 2);
        var path = tmp.File("w.pth");
        SymNetWeights.Save(a, path);

        using var b = new SymNet(3, dims: 2);
        SymNetWeights.Load(b, path);
        foreach (var (name, p) in a.named_parameters())
            Assert.True(p.allclose(b.state_dict()[name], rtol: 0, atol: 0), name);

        using var wrongC = new SymNet(4, dims: 2);
        var e = Assert.Throws<UnsupException>(() => SymNetWeights.Load(wrongC, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("eninput.0.weight has shape [3x2x3x3] in the file, [4x2x3x3] in the model", e.Message);

        File.WriteAllBytes(tmp.File("bad.pth"), new byte[] { 1, 2, 3 });
        var e2 = Assert.Throws<UnsupException>(() => SymNetWeights.Load(b, tmp.File("bad.pth")));
        Assert.Contains("not a readable PyTorch state_dict", e2.Message);
        Assert.Contains("not found", Assert.Throws<UnsupException>(() => SymNetWeights.Load(b, tmp.File("none.pth"))).Message);
    }

    [Fact]
    public void OfficialWeightsLoadWithoutMissingOrUnexpectedKeys()
    {
        using var model = new SymNet(7);
        SymNetWeights.Load(model, TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth"));
        Assert.True(model.state_dict()["dc9.0.weight"].abs().sum().item<float>() > 0);

        // a 2D model against the 3D file: every problem is named
        using var model2 = new SymNet(7, dims: 2);
        var e = Assert.Throws<UnsupException>(() => SymNetWeights.Load(model2, TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth")));
        Assert.Contains("dc10.0.weight has shape [3x14x5x5x5] in the file, [2x14x5x5] in the model", e.Message);
    }

    [Fact]
    public void WeightsCarryTheirArchitectureAndOtherFilesAreRefused()
    {
        using var tmp = TestData.Temp();
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var a = new SymNet(3, dims: 2);
        Directory.CreateDirectory(tmp.File("run"));
        SymNetWeights.Save(a, Path.Combine(tmp.File("run"), SymNetWeights.RunWeightsFile));

        // a run folder without checkpoints stands for its model.pth; width and dimensionality come from the file
        Assert.Equal((3, 2), SymNetWeights.Architecture(tmp.File("run")));
        using var b = SymNetWeights.Create(tmp.File("run"));
        Assert.Equal(3, b.StartChannels);
        Assert.Equal(2, b.Dims);
        foreach (var (name, p) in a.named_parameters())
            Assert.True(p.allclose(b.state_dict()[name], rtol: 0, atol: 0), name);

        // a PyTorch state_dict of another network
        using var other = TorchSharp.torch.nn.Linear(4, 2);
        SymNetWeights.Save(other, tmp.File("linear.pth"));
        var e = Assert.Throws<UnsupException>(() => SymNetWeights.Create(tmp.File("linear.pth")));
        Assert.Contains(tmp.File("linear.pth"), e.Message);
        Assert.Contains("is not SYMNet weights: no eninput.0.weight", e.Message);
        // an empty folder
        Directory.CreateDirectory(tmp.File("empty"));
        Assert.Contains("without checkpoints/latest", Assert.Throws<UnsupException>(() => SymNetWeights.Architecture(tmp.File("empty"))).Message);
    }
}
