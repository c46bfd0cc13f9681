#!/usr/bin/env python3
"""DIPY SyN baseline of bench/registration: one pair, timed inside.

usage: syn_pair.py FIXED MOVING MOVING_LABELS OUT_DIR [--iters 100,50,25] [--radius 3]

Registers MOVING onto FIXED with DIPY's SymmetricDiffeomorphicRegistration and the local cross-correlation
metric CCMetric(3, radius) (ANTs' SyN with CC, as in DIPY's tutorials), in voxel coordinates (identity affines:
the bench's images share one grid and are centred on their brains, so no affine stage). Writes to OUT_DIR:
  warped_labels.npy  moving labels on the fixed grid, nearest neighbour, int32 [X, Y, Z] (nibabel axis order)
  field.npy          displacement moving -> fixed in voxels, float32 [X, Y, Z, 3], Unsup's channel order
                     (channel 0 along the LAST array axis): warped(x) = moving(x + field(x))
  result.json        {"seconds": registration + label warp wall time, "iters": [...], "radius": r}
"""
import argparse
import json
import os
import time

import nibabel as nib
import numpy as np
from dipy.align.imwarp import SymmetricDiffeomorphicRegistration
from dipy.align.metrics import CCMetric


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixed"); ap.add_argument("moving"); ap.add_argument("moving_labels"); ap.add_argument("out")
    ap.add_argument("--iters", default="100,50,25", help="iterations per level, coarse to fine")
    ap.add_argument("--radius", type=int, default=4, help="CC window radius in voxels")
    a = ap.parse_args()
    iters = [int(v) for v in a.iters.split(",")]
    fixed = nib.load(a.fixed).get_fdata(dtype=np.float32)
    moving = nib.load(a.moving).get_fdata(dtype=np.float32)
    labels = np.asarray(nib.load(a.moving_labels).dataobj).astype(np.int32)
    if fixed.shape != moving.shape or labels.shape != moving.shape:
        raise SystemExit(f"syn_pair.py: shapes differ: fixed {fixed.shape}, moving {moving.shape}, labels {labels.shape}")
    os.makedirs(a.out, exist_ok=True)

    start = time.perf_counter()
    sdr = SymmetricDiffeomorphicRegistration(CCMetric(3, radius=a.radius), level_iters=iters)
    mapping = sdr.optimize(fixed, moving)
    warped = mapping.transform(labels.astype(np.float64), interpolation="nearest").astype(np.int32)
    seconds = time.perf_counter() - start

    # With identity affines DIPY's forward field is the displacement in voxels on the fixed grid,
    # [X, Y, Z, 3] with component k along array axis k; Unsup's channel 0 is along the last axis.
    field = np.asarray(mapping.get_forward_field(), dtype=np.float32)[..., ::-1]
    np.save(os.path.join(a.out, "warped_labels.npy"), np.ascontiguousarray(warped))
    np.save(os.path.join(a.out, "field.npy"), np.ascontiguousarray(field))
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump({"seconds": seconds, "iters": iters, "radius": a.radius}, f)


if __name__ == "__main__":
    main()
