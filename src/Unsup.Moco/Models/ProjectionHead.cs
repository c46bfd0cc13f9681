using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Moco.Models;

/// <summary>
/// MoCo's heads in the official module layout, so checkpoints load by name:
/// v1 <c>fc</c> = Linear(d, dim); v2 <c>fc.0</c> Linear(d, d), <c>fc.1</c> ReLU, <c>fc.2</c> Linear(d, dim) (no BN).
/// </summary>
public static class ProjectionHead
{
    public static nn.Module<Tensor, Tensor> Create(int featureDim, int outDim, bool mlp) =>
        mlp
            ? nn.Sequential(nn.Linear(featureDim, featureDim), nn.ReLU(), nn.Linear(featureDim, outDim))
            : nn.Linear(featureDim, outDim);
}
