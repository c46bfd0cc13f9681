#!/usr/bin/env python3
"""Mean Dice of a moved label map against the fixed one over the brain structures (FreeSurfer ids 1-99) present in
both the fixed and the original moving map; one definition for every method of the affine comparison.
    label_dice.py FIXED_LABELS MOVING_LABELS MOVED_LABELS     -> prints "dice_after dice_before_on_fixed_grid_or_nan"
"""
import sys
import nibabel as nib
import numpy as np

fixed = np.asanyarray(nib.load(sys.argv[1]).dataobj).astype(np.int64)
moving = np.asanyarray(nib.load(sys.argv[2]).dataobj).astype(np.int64)
moved = np.asanyarray(nib.load(sys.argv[3]).dataobj).astype(np.int64)
ids = sorted((set(np.unique(fixed)) & set(np.unique(moving))) - {0})
ids = [i for i in ids if i < 100]
d = []
for i in ids:
    a, b = fixed == i, moved == i
    s = a.sum() + b.sum()
    d.append(2.0 * np.logical_and(a, b).sum() / s if s else 1.0)
print(f"{np.mean(d):.4f} {len(ids)}")
