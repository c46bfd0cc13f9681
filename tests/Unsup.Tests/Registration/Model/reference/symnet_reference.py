"""Reference SYMNet inference for Unsup's parity test.

Re-implements the inference of the official repository
(cwmok/Fast-Symmetric-Diffeomorphic-Image-Registration-with-Convolutional-Neural-Networks,
Code/Models.py + Code/Test_SYMNet_neurite_oasis.py, the current code with align_corners=True
and compose(f1, f2) = f2 + f1(id + f2)) in plain torch on the CPU, keeping the official
conventions on purpose: velocities/flows in units of range_flow, the sampling grid built in
voxels and normalised per axis as ((g - (S-1)/2) / (S-1)) * 2.

usage: symnet_reference.py WEIGHTS.pth FIXED.nii.gz MOVING.nii.gz OUT_DIR [THREADS]
writes (float32 .npy, C order):
  fixed.npy, moving.npy        the raw input volumes (D,H,W) as float32
  flow_xy.npy, flow_yx.npy     F_X_Y (fixed->moving) and F_Y_X (moving->fixed), (3,D,H,W) voxels,
                               channel 0 = displacement along the last array axis
  half_xy.npy, half_yx.npy     the half-way fields F_X_Y_half, F_Y_X_half, (3,D,H,W) voxels
  moved.npy, moved_fixed.npy   normalised moving warped by F_Y_X, normalised fixed warped by F_X_Y
  timing.txt                   seconds of the registration itself (model + transforms)
"""
import os
import sys
import time

import nibabel as nib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RANGE_FLOW = 100.0
STEPS = 7


def conv_block(cin, cout, k=3, stride=1, pad=1, bias=True, head=False):
    act = nn.Softsign() if head else nn.ReLU()
    return nn.Sequential(nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=bias), act)


def up_block(cin, cout):
    return nn.Sequential(nn.ConvTranspose3d(cin, cout, 2, stride=2, padding=0, bias=True), nn.ReLU())


class SYMNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.eninput = conv_block(2, c)
        self.ec1 = conv_block(c, c)
        self.ec2 = conv_block(c, 2 * c, stride=2)
        self.ec3 = conv_block(2 * c, 2 * c)
        self.ec4 = conv_block(2 * c, 4 * c, stride=2)
        self.ec5 = conv_block(4 * c, 4 * c)
        self.ec6 = conv_block(4 * c, 8 * c, stride=2)
        self.ec7 = conv_block(8 * c, 8 * c)
        self.ec8 = conv_block(8 * c, 16 * c, stride=2)
        self.ec9 = conv_block(16 * c, 8 * c)
        self.dc1 = conv_block(16 * c, 8 * c)
        self.dc2 = conv_block(8 * c, 4 * c)
        self.dc3 = conv_block(8 * c, 4 * c)
        self.dc4 = conv_block(4 * c, 2 * c)
        self.dc5 = conv_block(4 * c, 4 * c)
        self.dc6 = conv_block(4 * c, 2 * c)
        self.dc7 = conv_block(3 * c, 2 * c)
        self.dc8 = conv_block(2 * c, 2 * c)
        self.dc9 = conv_block(2 * c, 3, k=5, pad=2, bias=False, head=True)
        self.dc10 = conv_block(2 * c, 3, k=5, pad=2, bias=False, head=True)
        self.up1 = up_block(8 * c, 8 * c)
        self.up2 = up_block(4 * c, 4 * c)
        self.up3 = up_block(2 * c, 2 * c)
        self.up4 = up_block(2 * c, 2 * c)

    def forward(self, x, y):
        e0 = self.ec1(self.eninput(torch.cat((x, y), 1)))
        e1 = self.ec3(self.ec2(e0))
        e2 = self.ec5(self.ec4(e1))
        e3 = self.ec7(self.ec6(e2))
        e4 = self.ec9(self.ec8(e3))
        d0 = self.dc2(self.dc1(torch.cat((self.up1(e4), e3), 1)))
        d1 = self.dc4(self.dc3(torch.cat((self.up2(d0), e2), 1)))
        d2 = self.dc6(self.dc5(torch.cat((self.up3(d1), e1), 1)))
        d3 = self.dc8(self.dc7(torch.cat((self.up4(d2), e0), 1)))
        return self.dc9(d3), self.dc10(d3)


def voxel_grid(shape):
    # (1, D, H, W, 3) with entry 0 = index along W (the last axis), as the official generate_grid
    d, h, w = [torch.arange(s, dtype=torch.float32) for s in shape]
    gd, gh, gw = torch.meshgrid(d, h, w, indexing="ij")
    return torch.stack((gw, gh, gd), -1).unsqueeze(0)


def to_unit(g):
    # voxel positions -> [-1, 1] per axis (entry k runs along array axis 3-k)
    s = g.shape
    out = g.clone()
    out[..., 0] = (g[..., 0] - (s[3] - 1) / 2) / (s[3] - 1) * 2
    out[..., 1] = (g[..., 1] - (s[2] - 1) / 2) / (s[2] - 1) * 2
    out[..., 2] = (g[..., 2] - (s[1] - 1) / 2) / (s[1] - 1) * 2
    return out


def sample(img, flow_units, grid, mode="bilinear"):
    # img sampled at id + flow (flow in range_flow units, channel-first)
    g = to_unit(grid + flow_units.permute(0, 2, 3, 4, 1) * RANGE_FLOW)
    return F.grid_sample(img, g, mode=mode, align_corners=True)


def integrate(v, grid):
    f = v / (2.0 ** STEPS)
    for _ in range(STEPS):
        f = f + sample(f, f, grid)
    return f


def compose(f1, f2, grid):
    return f2 + sample(f1, f2, grid)


def minmax(a):
    return (a - a.min()) / (a.max() - a.min())


def main():
    weights, fixed_path, moving_path, out = sys.argv[1:5]
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(threads)
    os.makedirs(out, exist_ok=True)

    fixed_raw = nib.load(fixed_path).get_fdata()
    moving_raw = nib.load(moving_path).get_fdata()
    np.save(os.path.join(out, "fixed.npy"), np.ascontiguousarray(fixed_raw, dtype=np.float32))
    np.save(os.path.join(out, "moving.npy"), np.ascontiguousarray(moving_raw, dtype=np.float32))

    model = SYMNet(7)
    state = torch.load(weights, map_location="cpu")
    model.load_state_dict(state, strict=True)
    model.eval()

    x = torch.from_numpy(minmax(fixed_raw)).float()[None, None]
    y = torch.from_numpy(minmax(moving_raw)).float()[None, None]
    grid = voxel_grid(x.shape[2:])

    t0 = time.perf_counter()
    with torch.no_grad():
        v_xy, v_yx = model(x, y)
        h_xy = integrate(v_xy, grid)
        h_yx = integrate(v_yx, grid)
        h_xy_inv = integrate(-v_xy, grid)
        h_yx_inv = integrate(-v_yx, grid)
        f_xy = compose(h_xy, h_yx_inv, grid)
        f_yx = compose(h_yx, h_xy_inv, grid)
        moved = sample(y, f_yx, grid)
        moved_fixed = sample(x, f_xy, grid)
    elapsed = time.perf_counter() - t0

    def save(name, t):
        np.save(os.path.join(out, name), np.ascontiguousarray(t[0].numpy().astype(np.float32)))

    save("flow_xy.npy", f_xy * RANGE_FLOW)
    save("flow_yx.npy", f_yx * RANGE_FLOW)
    save("half_xy.npy", h_xy * RANGE_FLOW)
    save("half_yx.npy", h_yx * RANGE_FLOW)
    save("moved.npy", moved[:, 0])
    save("moved_fixed.npy", moved_fixed[:, 0])
    with open(os.path.join(out, "timing.txt"), "w") as fh:
        fh.write("%.3f\n" % elapsed)
    print("ok %.3f s, |F_YX| max %.3f" % (elapsed, float((f_yx * RANGE_FLOW).abs().max())))


if __name__ == "__main__":
    main()
