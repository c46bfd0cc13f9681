"""Fixture for Unsup's MoCo weights tests: PyTorch-made checkpoints in the layouts users bring, plus features.

Usage: python3 make_fixture.py OUT_DIR

Writes into OUT_DIR:
  moco_r18.pth.tar   official MoCo layout: torch.save({'epoch','arch','state_dict','optimizer'}) of a
                     DataParallel-wrapped MoCo (keys module.encoder_q.*, module.encoder_k.*, module.queue,
                     module.queue_ptr), v2 MLP head, resnet18, with SGD momentum buffers as after one step
  torchvision_r18.pth plain torchvision resnet18 state_dict (10-class fc) with the same backbone weights
  legacy_r18.pth     the same state_dict in the pre-1.6 (non-zip) torch.save format
  x.npy              one batch [4, 3, 32, 32] float32
  features.npy       pooled backbone features of x in eval mode [4, 512]
  head.npy           L2-normalised MoCo head output of x [4, 128]
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision


class MoCo(nn.Module):
    """Just the module tree and buffers of the official moco/builder.py MoCo (for the state_dict keys)."""

    def __init__(self, dim=128, K=64):
        super().__init__()
        self.encoder_q = torchvision.models.resnet18(num_classes=dim)
        hidden = self.encoder_q.fc.weight.shape[1]
        self.encoder_q.fc = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), self.encoder_q.fc)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        self.register_buffer("queue", nn.functional.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    moco = MoCo()
    q = moco.encoder_q
    # non-trivial BN statistics and affine parameters, so eval-mode BN is really exercised
    for m in q.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    model = nn.DataParallel(moco)  # on CPU this only adds the "module." prefix, as in the released checkpoints
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.03, momentum=0.9, weight_decay=1e-4)
    # one step on a copy, so the optimizer holds momentum buffers as a real checkpoint does, weights stay as set
    state = copy.deepcopy(model.state_dict())
    q.train()
    q(torch.randn(2, 3, 32, 32)).sum().backward()
    opt.step()
    model.load_state_dict(state)
    torch.save({"epoch": 200, "arch": "resnet18", "state_dict": model.state_dict(), "optimizer": opt.state_dict()},
               os.path.join(out, "moco_r18.pth.tar"))

    tv = torchvision.models.resnet18(num_classes=10)
    sd = {k: v for k, v in q.state_dict().items() if not k.startswith("fc.")}
    sd.update({k: v for k, v in tv.state_dict().items() if k.startswith("fc.")})
    tv.load_state_dict(sd, strict=True)
    torch.save(tv.state_dict(), os.path.join(out, "torchvision_r18.pth"))
    torch.save(tv.state_dict(), os.path.join(out, "legacy_r18.pth"), _use_new_zipfile_serialization=False)

    x = torch.randn(4, 3, 32, 32)
    q.eval()
    with torch.no_grad():
        backbone = copy.deepcopy(q)
        backbone.fc = nn.Identity()
        features = backbone(x)
        head = nn.functional.normalize(q(x), dim=1)
    np.save(os.path.join(out, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "features.npy"), features.numpy().astype(np.float32))
    np.save(os.path.join(out, "head.npy"), head.numpy().astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
