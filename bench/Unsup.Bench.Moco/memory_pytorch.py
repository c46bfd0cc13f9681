"""PyTorch side of `unsup-bench-moco memory`: the same MoCo steps as Unsup (CIFAR ResNet-18, split BN, queue K).
Prints one line: "baseline_mb peak_mb images_per_second torch_version" (VmHWM of this process before and after the steps)."""
import argparse, time
import torch, torch.nn as nn, torch.nn.functional as F
from functools import partial
from torchvision.models import resnet

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=3); p.add_argument("--batch", type=int, default=256)
p.add_argument("--splits", type=int, default=8); p.add_argument("--queue", type=int, default=4096)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)

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
            out = F.batch_norm(input.view(-1, C * self.num_splits, H, W), rm, rv, self.weight.repeat(self.num_splits),
                               self.bias.repeat(self.num_splits), True, self.momentum, self.eps).view(N, C, H, W)
            self.running_mean.data.copy_(rm.view(self.num_splits, C).mean(dim=0))
            self.running_var.data.copy_(rv.view(self.num_splits, C).mean(dim=0))
            return out
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, False, self.momentum, self.eps)

def enc():
    m = resnet.resnet18(num_classes=128, norm_layer=partial(SplitBatchNorm, num_splits=a.splits))
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); return m

q, k = enc(), enc()
for x, y in zip(q.parameters(), k.parameters()): y.data.copy_(x.data); y.requires_grad = False
queue = F.normalize(torch.randn(128, a.queue), dim=0); ptr = 0
opt = torch.optim.SGD(q.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
t = time.time()
for i in range(a.steps):
    x1, x2 = torch.randn(a.batch, 3, 32, 32), torch.randn(a.batch, 3, 32, 32)
    qf = F.normalize(q(x1), dim=1)
    with torch.no_grad():
        for x, y in zip(q.parameters(), k.parameters()): y.data = y.data * 0.99 + x.data * 0.01
        perm = torch.randperm(a.batch); kf = F.normalize(k(x2[perm]), dim=1)[torch.argsort(perm)]
    logits = torch.cat([(qf * kf).sum(1, keepdim=True), qf @ queue.clone().detach()], 1) / 0.1
    loss = F.cross_entropy(logits, torch.zeros(a.batch, dtype=torch.long))
    opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        queue[:, ptr:ptr + a.batch] = kf.T; ptr = (ptr + a.batch) % a.queue
print(f"{base} {hwm()} {a.steps * a.batch / (time.time() - t):.1f} {torch.__version__}")
