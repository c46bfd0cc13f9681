using Unsup.Moco;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Weights;

/// <summary>Shared inputs of the MoCo-use tests: the PyTorch fixture (made once per test run) and tiny Unsup runs.</summary>
public static class MocoUseFixtures
{
    static readonly object Gate = new();
    static string? _pyDir;

    /// <summary>Folder with reference/make_fixture.py's outputs; skips the test when python3/torch/torchvision are missing.</summary>
    public static string PyTorchFixture()
    {
        lock (Gate)
        {
            if (_pyDir != null) return _pyDir;
            var script = Path.Combine(TestData.RepoRoot, "tests", "Unsup.Tests", "Moco", "Weights", "reference", "make_fixture.py");
            // ~230 MB of checkpoints
            return _pyDir = TestData.CachedOutputs("mocouse-fixture", File.ReadAllText(script), tmp => TestData.Python($$"""
                import sys, torch
                torch.set_num_threads(1)
                sys.argv = [r"{{script}}", r"{{tmp}}"]
                exec(compile(open(r"{{script}}").read(), r"{{script}}", "exec"))
                """, "torch", "torchvision", "numpy"));
        }
    }

    /// <summary>The small MoCo configuration of the tests: resnet18 width 4, CIFAR stem, 1 channel, MLP head.</summary>
    public static MocoConfig TinyConfig => MocoConfig.FromPreset("cifar") with
    {
        Width = 4, InChannels = 1, QueueSize = 64, BnSplits = 1, Mlp = true, Epochs = 1, BatchSize = 16, CropSize = 28,
        DataSpec = "fashion-mnist",
    };

    /// <summary>
    /// A run folder as `moco pretrain` leaves it (config.json, checkpoints/step-000001.ckpt, latest pointer), made without
    /// training: the query encoder gets random weights and non-trivial BN statistics. Returns the model (caller disposes).
    /// </summary>
    public static MocoModel MakeRun(string runDir, MocoConfig? config = null, long seed = 1)
    {
        config ??= TinyConfig;
        manual_seed(seed);
        var model = config.BuildModel();
        using (no_grad())
        {
            foreach (var (name, t) in model.EncoderQ.named_buffers())
            {
                if (name.EndsWith("running_mean")) t.uniform_(-0.1, 0.1);
                if (name.EndsWith("running_var")) t.uniform_(0.5, 1.5);
            }
        }
        var run = RunFolder.Create(runDir, config);
        var state = new TrainingState { Step = 1, IncludeTorchRng = false }.AddModule("moco", model);
        run.Checkpoints.Save(state);
        return model;
    }

    public static float RelativeError(Tensor got, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return (got - expected).abs().max().item<float>() / Math.Max(expected.abs().max().item<float>(), 1e-12f);
    }
}
