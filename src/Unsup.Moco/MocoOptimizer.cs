using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>SGD over the query encoder, optionally with BN parameters and biases excluded from weight decay.</summary>
public static class MocoOptimizer
{
    /// <summary>1-D parameters: biases and normalisation scales/shifts.</summary>
    public static bool IsBnOrBias(string name, Parameter p) => p.dim() <= 1 || name.EndsWith(".bias", StringComparison.Ordinal);

    /// <param name="excludeBnAndBias">Official MoCo decays everything (false); true puts 1-D parameters in a wd = 0 group.</param>
    public static SGD Create(IEnumerable<(string name, Parameter param)> parameters, double lr, double momentum = 0.9,
        double weightDecay = 1e-4, bool excludeBnAndBias = false)
    {
        var list = parameters.Where(p => p.param.requires_grad).ToList();
        if (!excludeBnAndBias)
            return optim.SGD(list.Select(p => p.param), lr, momentum, weight_decay: weightDecay);
        var decay = list.Where(p => !IsBnOrBias(p.name, p.param)).Select(p => p.param).ToList();
        var noDecay = list.Where(p => IsBnOrBias(p.name, p.param)).Select(p => p.param).ToList();
        var groups = new List<SGD.ParamGroup>
        {
            new(decay, lr: lr, momentum: momentum, weight_decay: weightDecay),
            new(noDecay, lr: lr, momentum: momentum, weight_decay: 0),
        };
        return optim.SGD(groups, lr, momentum, weight_decay: weightDecay);
    }
}
