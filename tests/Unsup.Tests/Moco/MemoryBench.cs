using System.Diagnostics;
using Unsup.Moco;
using Unsup.Moco.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

/// <summary>
/// Not a unit test: peak RSS of a few MoCo steps (CIFAR ResNet-18, batch 256, 8 BN splits, K 4096, random 32x32
/// inputs), next to the same steps in PyTorch. Skipped unless UNSUP_MOCO_MEMBENCH is set.
/// </summary>
public class MemoryBench(ITestOutputHelper output)
{
    const int Steps = 3, Batch = 256;

    [SkippableFact]
    public void Peak_memory_of_moco_steps_compared_with_pytorch()
    {
        Skip.If(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("UNSUP_MOCO_MEMBENCH")), "set UNSUP_MOCO_MEMBENCH=1");
        var py = TestData.Python("""
            import resource, time, torch, torch.nn as nn, torch.nn.functional as F
            from functools import partial
            from torchvision.models import resnet
            torch.set_num_threads(2); torch.manual_seed(0)
            def hwm():  # VmHWM is per address space (ru_maxrss would carry the parent's peak across fork+exec)
                return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) // 1024
            base = hwm()
            class SplitBatchNorm(nn.BatchNorm2d):
                def __init__(self, num_features, num_splits, **kw):
                    super().__init__(num_features, **kw); self.num_splits = num_splits
                def forward(self, input):
                    N, C, H, W = input.shape
                    if self.training:
                        rm = self.running_mean.repeat(self.num_splits); rv = self.running_var.repeat(self.num_splits)
                        out = F.batch_norm(input.view(-1, C * self.num_splits, H, W), rm, rv, self.weight.repeat(self.num_splits), self.bias.repeat(self.num_splits), True, self.momentum, self.eps).view(N, C, H, W)
                        self.running_mean.data.copy_(rm.view(self.num_splits, C).mean(dim=0)); self.running_var.data.copy_(rv.view(self.num_splits, C).mean(dim=0))
                        return out
                    return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, False, self.momentum, self.eps)
            def enc():
                m = resnet.resnet18(num_classes=128, norm_layer=partial(SplitBatchNorm, num_splits=8))
                m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); return m
            q, k = enc(), enc()
            for a, b in zip(q.parameters(), k.parameters()): b.data.copy_(a.data); b.requires_grad = False
            queue = F.normalize(torch.randn(128, 4096), dim=0); ptr = 0
            opt = torch.optim.SGD(q.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
            t = time.time()
            for i in range(3):
                x1, x2 = torch.randn(256, 3, 32, 32), torch.randn(256, 3, 32, 32)
                qf = F.normalize(q(x1), dim=1)
                with torch.no_grad():
                    for a, b in zip(q.parameters(), k.parameters()): b.data = b.data * 0.99 + a.data * 0.01
                    perm = torch.randperm(256); kf = F.normalize(k(x2[perm]), dim=1)[torch.argsort(perm)]
                logits = torch.cat([(qf * kf).sum(1, keepdim=True), qf @ queue.clone().detach()], 1) / 0.1
                loss = F.cross_entropy(logits, torch.zeros(256, dtype=torch.long))
                opt.zero_grad(); loss.backward(); opt.step()
                with torch.no_grad(): queue[:, ptr:ptr + 256] = kf.T; ptr = (ptr + 256) % 4096
            peak = hwm()
            print(f"PyTorch: baseline {base} MB, peak {peak} MB, {3 * 256 / (time.time() - t):.1f} img/s")
            """, "torch", "torchvision");
        set_num_threads(2);
        manual_seed(0);
        long baseline = Process.GetCurrentProcess().WorkingSet64;
        using var model = new MocoModel(new ResNetOptions(18, 64, 3, CifarStem: true), 128, 4096, 0.99, 0.1, false, false, 8);
        model.train();
        using var opt = MocoOptimizer.Create(model.TrainableParameters(), 0.06, 0.9, 5e-4);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Steps; i++)
        {
            using var scope = NewDisposeScope();
            var x1 = randn(Batch, 3, 32, 32); var x2 = randn(Batch, 3, 32, 32);
            opt.zero_grad();
            using var o = model.forward(x1, x2);
            o.Loss.backward();
            opt.step();
        }
        // VmHWM of this process (PeakWorkingSet64 reads the same counter)
        var p = Process.GetCurrentProcess();
        p.Refresh();
        output.WriteLine($"TorchSharp: baseline {baseline >> 20} MB, peak {p.PeakWorkingSet64 >> 20} MB, {Steps * Batch / sw.Elapsed.TotalSeconds:F1} img/s");

        output.WriteLine(py.Trim());
        File.AppendAllText(Environment.GetEnvironmentVariable("UNSUP_MOCO_MEMBENCH")!, $"TorchSharp: baseline {baseline >> 20} MB, peak {p.PeakWorkingSet64 >> 20} MB, {Steps * Batch / sw.Elapsed.TotalSeconds:F1} img/s\n{py.Trim()}\n");
    }
}
