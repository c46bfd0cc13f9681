using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>One training step's result.</summary>
/// <param name="Loss">Scalar cross-entropy (sum of both directions in symmetric mode, as in the CIFAR demo); call backward on it.</param>
/// <param name="Top1">Scalar fraction of queries whose positive key scored highest among the K+1 (detached).</param>
public sealed record MocoOutput(Tensor Loss, Tensor Top1) : IDisposable
{
    public void Dispose() { Loss.Dispose(); Top1.Dispose(); }
}
