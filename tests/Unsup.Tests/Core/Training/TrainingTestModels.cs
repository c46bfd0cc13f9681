using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.Training;

/// <summary>Small models, optimizers and steps shared by the training tests.</summary>
internal static class TrainingTestModels
{
    public static Sequential Mlp(int hidden = 8) =>
        nn.Sequential(("0", nn.Linear(4, hidden)), ("1", nn.ReLU()), ("2", nn.Dropout(0.3)), ("3", nn.Linear(hidden, 2)));

    public static optim.Optimizer Optimizer(string kind, Sequential m) => kind switch
    {
        "sgd" => optim.SGD(m.parameters(), 0.1, momentum: 0.9),
        "adam" => optim.Adam(m.parameters(), 0.01),
        _ => throw new ArgumentException(kind),
    };

    /// <summary>Fixed data from its own generator (not the global one the tests compare).</summary>
    public static (Tensor X, Tensor Y) RegressionData()
    {
        using var g = new Generator(1234);
        var x = randn(new long[] { 16, 4 }, generator: g);
        var y = randn(new long[] { 16, 2 }, generator: g);
        return (x, y);
    }

    public static void Steps(Sequential m, optim.Optimizer opt, Tensor x, Tensor y, int n)
    {
        m.train();
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.mse_loss(m.call(x), y);
            loss.backward();
            opt.step();
        }
    }

    /// <summary>All parameters' raw bytes, for bit-for-bit comparison.</summary>
    public static byte[] Weights(nn.Module m)
    {
        var ms = new MemoryStream();
        foreach (var (_, t) in m.state_dict()) ms.Write(t.bytes);
        return ms.ToArray();
    }
}
