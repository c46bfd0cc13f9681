"""PyTorch reference side of Unsup's speed suite (bench/run.sh). One process = one repetition of one row; prints
one JSON line. Same shapes and threads as the Unsup side (bench/Unsup.Bench.Speed); Debian's python3-torch 1.13.

usage: reference.py ROW [--threads N] [row options]   (rows: gemm, moco-step, features, augment,
       symnet-infer, symnet-train-step)
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_mb():
    # VmHWM: this process's peak resident set (ru_maxrss would include a forking parent's)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def conv_flops(model, *inputs):
    """Multiply-adds x2 of every Conv/ConvTranspose/Linear in one forward pass (hooks)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            k = m.weight[0].numel()  # cin/groups * prod(kernel)
            total[0] += 2 * k * out.numel()
        elif isinstance(m, (nn.ConvTranspose3d, nn.ConvTranspose2d)):
            total[0] += 2 * m.weight.numel() * inp[0][0, 0].numel() * inp[0].shape[0]
        elif isinstance(m, nn.Linear):
            total[0] += 2 * m.weight.numel() * out.numel() // out.shape[-1]

    hs = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(*inputs)
    for h in hs:
        h.remove()
    return total[0]


# ---------------------------------------------------------------- MoCo
def resnet18(width, channels, num_classes, splits, stem_stride=1):
    from functools import partial
    from torchvision.models import resnet

    class SplitBatchNorm(nn.BatchNorm2d):
        def __init__(self, num_features, num_splits, **kw):
            super().__init__(num_features, **kw)
            self.num_splits = num_splits

        def forward(self, input):
            N, C, H, W = input.shape
            if self.training or not self.track_running_stats:
                rm = self.running_mean.repeat(self.num_splits)
                rv = self.running_var.repeat(self.num_splits)
                out = F.batch_norm(input.view(-1, C * self.num_splits, H, W), rm, rv,
                                   self.weight.repeat(self.num_splits), self.bias.repeat(self.num_splits),
                                   True, self.momentum, self.eps).view(N, C, H, W)
                self.running_mean.data.copy_(rm.view(self.num_splits, C).mean(dim=0))
                self.running_var.data.copy_(rv.view(self.num_splits, C).mean(dim=0))
                return out
            return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                                False, self.momentum, self.eps)

    norm = partial(SplitBatchNorm, num_splits=splits) if splits > 1 else nn.BatchNorm2d
    m = resnet.ResNet(resnet.BasicBlock, [2, 2, 2, 2], num_classes=num_classes, norm_layer=norm,
                      width_per_group=64)
    if width != 64:  # torchvision has no width option for BasicBlock: rebuild with scaled planes
        m = scaled_resnet18(width, num_classes, norm)
    m.conv1 = nn.Conv2d(channels, width, 3, stem_stride, 1, bias=False)  # CIFAR stem
    m.maxpool = nn.Identity()
    return m


def scaled_resnet18(width, num_classes, norm):
    from torchvision.models import resnet
    m = resnet.ResNet(resnet.BasicBlock, [2, 2, 2, 2], num_classes=num_classes, norm_layer=norm)
    m.inplanes = width
    m.bn1 = norm(width)
    m.layer1 = m._make_layer(resnet.BasicBlock, width, 2)
    m.layer2 = m._make_layer(resnet.BasicBlock, width * 2, 2, stride=2)
    m.layer3 = m._make_layer(resnet.BasicBlock, width * 4, 2, stride=2)
    m.layer4 = m._make_layer(resnet.BasicBlock, width * 8, 2, stride=2)
    m.fc = nn.Linear(width * 8, num_classes)
    return m


def moco_step(a):
    torch.manual_seed(0)
    q = resnet18(a.width, a.channels, a.dim, a.splits, a.stem_stride)
    k = resnet18(a.width, a.channels, a.dim, a.splits, a.stem_stride)
    if a.mlp:  # MoCo v2's head, as builder.py adds it
        for m in (q, k):
            m.fc = nn.Sequential(nn.Linear(m.fc.weight.shape[1], m.fc.weight.shape[1]), nn.ReLU(), m.fc)
    for pq, pk in zip(q.parameters(), k.parameters()):
        pk.data.copy_(pq.data)
        pk.requires_grad = False
    queue = F.normalize(torch.randn(a.dim, a.queue), dim=0)
    ptr = 0
    opt = torch.optim.SGD(q.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
    flops = conv_flops(q.eval(), torch.randn(a.batch, a.channels, a.size, a.size))
    q.train()
    k.train()
    times = []
    for i in range(a.warmup + a.steps):
        x1, x2 = torch.randn(a.batch, a.channels, a.size, a.size), torch.randn(a.batch, a.channels, a.size, a.size)
        t = time.perf_counter()
        qf = F.normalize(q(x1), dim=1)
        with torch.no_grad():
            for pq, pk in zip(q.parameters(), k.parameters()):
                pk.data.mul_(0.99).add_(pq.data, alpha=0.01)
            perm = torch.randperm(a.batch)
            kf = F.normalize(k(x2[perm]), dim=1)[torch.argsort(perm)]
        logits = torch.cat([(qf * kf).sum(1, keepdim=True), qf @ queue.clone().detach()], 1) / 0.1
        loss = F.cross_entropy(logits, torch.zeros(a.batch, dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            queue[:, ptr:ptr + a.batch] = kf.T
            ptr = (ptr + a.batch) % a.queue
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    sec = sorted(times)[len(times) // 2]
    # query forward + backward (2x forward) + key forward
    return {"sec_per_step": sec, "img_s": a.batch / sec, "gflop_per_step": 4 * flops / 1e9}


def features(a):
    torch.manual_seed(0)
    m = resnet18(a.width, a.channels, a.dim, 1)
    m.fc = nn.Identity()
    m.eval()
    x = torch.randn(a.images, a.channels, a.size, a.size)
    with torch.no_grad():
        m(x[:a.batch])
        t = time.perf_counter()
        for i in range(0, a.images, a.batch):
            F.normalize(m(x[i:i + a.batch]), dim=1)
        sec = time.perf_counter() - t
    return {"seconds": sec, "img_s": a.images / sec}


def augment(a):
    """The official per-image path: PIL images through torchvision transforms (the v2 crop/flip at 28 px)."""
    import numpy as np
    from PIL import Image
    import torchvision.transforms as T
    rng = np.random.default_rng(0)
    imgs = [Image.fromarray(rng.integers(0, 256, (a.size, a.size), dtype=np.uint8)) for _ in range(a.images)]
    tf = T.Compose([T.RandomResizedCrop(a.size, scale=(0.2, 1.0)), T.RandomHorizontalFlip(),
                    T.ToTensor(), T.Normalize([0.5], [0.5])])
    t = time.perf_counter()
    for im in imgs:
        tf(im), tf(im)  # two views per image, as MoCo's TwoCropsTransform
    sec = time.perf_counter() - t
    return {"seconds": sec, "img_s": a.images / sec}


# ---------------------------------------------------------------- SYMNet
def symnet_module():
    sys.path.insert(0, a_reference_dir())
    import symnet_reference
    return symnet_reference


def a_reference_dir():
    env = os.environ.get("UNSUP_SYMNET_REFERENCE_DIR")
    return env or os.path.join(HERE, "..", "..", "tests", "Unsup.Tests", "Registration", "reference")


def symnet_infer(a):
    import nibabel as nib
    import numpy as np
    sr = symnet_module()
    t = time.perf_counter()
    fixed = nib.load(a.fixed).get_fdata()
    moving = nib.load(a.moving).get_fdata()
    t_read = time.perf_counter() - t
    model = sr.SYMNet(7)
    model.load_state_dict(torch.load(a.weights, map_location="cpu"), strict=True)
    model.eval()
    x = torch.from_numpy(sr.minmax(fixed)).float()[None, None]
    y = torch.from_numpy(sr.minmax(moving)).float()[None, None]
    grid = sr.voxel_grid(x.shape[2:])
    flops = conv_flops(model, x, y)
    with torch.no_grad():
        t0 = time.perf_counter()
        v_xy, v_yx = model(x, y)
        t1 = time.perf_counter()
        h_xy, h_yx = sr.integrate(v_xy, grid), sr.integrate(v_yx, grid)
        h_xy_inv, h_yx_inv = sr.integrate(-v_xy, grid), sr.integrate(-v_yx, grid)
        f_xy = sr.compose(h_xy, h_yx_inv, grid)
        f_yx = sr.compose(h_yx, h_xy_inv, grid)
        t2 = time.perf_counter()
        moved = sr.sample(y, f_yx, grid)
        t3 = time.perf_counter()
    t = time.perf_counter()
    out = os.path.join(a.out, "ref")
    os.makedirs(out, exist_ok=True)
    aff = nib.load(a.fixed).affine
    nib.save(nib.Nifti1Image(moved[0, 0].numpy(), aff), os.path.join(out, "moved.nii.gz"))
    field = (f_yx[0] * sr.RANGE_FLOW).permute(1, 2, 3, 0).numpy()
    nib.save(nib.Nifti1Image(np.ascontiguousarray(field), aff), os.path.join(out, "forward_field.nii.gz"))
    t_write = time.perf_counter() - t
    return {"network": t1 - t0, "integration": t2 - t1, "warping": t3 - t2, "io": t_read + t_write,
            "total": t3 - t0, "gflop_network": flops / 1e9}


def symnet_train_step(a):
    sr = symnet_module()
    torch.manual_seed(0)
    shape = [int(s) for s in a.size.split("x")]
    model = sr.SYMNet(a.channels)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    grid = sr.voxel_grid(shape)
    x = torch.rand(1, 1, *shape)
    y = torch.rand(1, 1, *shape)
    flops = conv_flops(model, x, y)
    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        loss = symnet_loss(sr, model, x, y, grid)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    sec = sorted(times)[len(times) // 2]
    return {"sec_per_step": sec, "gflop_per_step": 3 * flops / 1e9}


def ncc(i, j, win=7):
    # the official local NCC: squared correlation over a win^3 box
    filt = torch.ones(1, 1, win, win, win)
    pad = win // 2
    i2, j2, ij = i * i, j * j, i * j
    s = lambda t: F.conv3d(t, filt, padding=pad)
    i_sum, j_sum, i2_sum, j2_sum, ij_sum = s(i), s(j), s(i2), s(j2), s(ij)
    n = win ** 3
    u_i, u_j = i_sum / n, j_sum / n
    cross = ij_sum - u_j * i_sum - u_i * j_sum + u_i * u_j * n
    i_var = i2_sum - 2 * u_i * i_sum + u_i * u_i * n
    j_var = j2_sum - 2 * u_j * j_sum + u_j * u_j * n
    return -torch.mean(cross * cross / (i_var * j_var + 1e-5))


def jacobian_loss(f):
    # f: (1, 3, D, H, W) voxels; negative det of the full map's Jacobian, as the official magnitude_loss/neg_Jdet
    d = f.permute(0, 2, 3, 4, 1)
    dy = d[:, 1:, :-1, :-1, :] - d[:, :-1, :-1, :-1, :]
    dx = d[:, :-1, 1:, :-1, :] - d[:, :-1, :-1, :-1, :]
    dz = d[:, :-1, :-1, 1:, :] - d[:, :-1, :-1, :-1, :]
    dz = dz.clone(); dz[..., 0] += 1
    dx = dx.clone(); dx[..., 1] += 1
    dy = dy.clone(); dy[..., 2] += 1
    det = dx[..., 0] * (dy[..., 1] * dz[..., 2] - dy[..., 2] * dz[..., 1]) \
        - dy[..., 0] * (dx[..., 1] * dz[..., 2] - dx[..., 2] * dz[..., 1]) \
        + dz[..., 0] * (dx[..., 1] * dy[..., 2] - dx[..., 2] * dy[..., 1])
    return F.relu(-det).mean()


def smoothness(v):
    dy = v[:, :, 1:, :, :] - v[:, :, :-1, :, :]
    dx = v[:, :, :, 1:, :] - v[:, :, :, :-1, :]
    dz = v[:, :, :, :, 1:] - v[:, :, :, :, :-1]
    return (dx * dx).mean() + (dy * dy).mean() + (dz * dz).mean()


def symnet_loss(sr, model, x, y, grid):
    # the official training step (Train_sym_onepass.py): mid-space NCC, full NCC both ways, Jacobian, smoothness, magnitude
    f_xy, f_yx = model(x, y)
    h_xy, h_yx = sr.integrate(f_xy, grid), sr.integrate(f_yx, grid)
    h_xy_inv, h_yx_inv = sr.integrate(-f_xy, grid), sr.integrate(-f_yx, grid)
    x_mid, y_mid = sr.sample(x, h_xy, grid), sr.sample(y, h_yx, grid)
    full_xy = sr.compose(h_xy, h_yx_inv, grid)
    full_yx = sr.compose(h_yx, h_xy_inv, grid)
    x_y, y_x = sr.sample(x, full_xy, grid), sr.sample(y, full_yx, grid)
    loss_mid = ncc(x_mid, y_mid)
    loss_full = ncc(x_y, y) + ncc(y_x, x)
    loss_j = jacobian_loss(full_xy * sr.RANGE_FLOW) + jacobian_loss(full_yx * sr.RANGE_FLOW)
    loss_s = smoothness(f_xy * sr.RANGE_FLOW) + smoothness(f_yx * sr.RANGE_FLOW)
    # magnitude_loss of the official code: the two half-way maps move alike far
    loss_m = torch.abs(h_xy.abs().sum() - h_yx.abs().sum()) * sr.RANGE_FLOW / h_xy.numel()
    return loss_mid + loss_full + 100 * loss_j + 3 * loss_s + 0.1 * loss_m


def gemm(a):
    n = a.n
    x, y = torch.randn(n, n), torch.randn(n, n)
    x @ y
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        x @ y
        best = min(best, time.perf_counter() - t)
    return {"gflop_s": 2 * n ** 3 / best / 1e9}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("row")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--size", default="32")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--splits", type=int, default=8)
    p.add_argument("--stem-stride", type=int, default=1)
    p.add_argument("--mlp", type=int, default=0)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--fixed")
    p.add_argument("--moving")
    p.add_argument("--weights")
    p.add_argument("--out", default="/tmp")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.row in ("moco-step", "features", "augment"):
        a.size = int(a.size)
    rows = {"gemm": gemm, "moco-step": moco_step, "features": features, "augment": augment,
            "symnet-infer": symnet_infer, "symnet-train-step": symnet_train_step}
    result = rows[a.row](a)
    result["peak_mb"] = peak_mb()
    result["impl"] = "pytorch-%s" % torch.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
