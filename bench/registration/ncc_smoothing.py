#!/usr/bin/env python3
"""Why SYMNet trained from scratch on synthesised pairs learns sub-voxel shifts instead of anatomy.

Local NCC (window 7, squared correlation as the official SYMNet loss) of two held-out subjects' synthesised images, at
the identity, with both images shifted by half a voxel (what a warp landing between voxels does: linear interpolation
averages neighbours and so removes part of the voxel noise), and with one image misaligned by a voxel, for several
Gaussian pre-blurs (symnet train --similarity-blur). Reads the images bench/registration/run.sh synthesises.
  /usr/bin/python3 bench/registration/ncc_smoothing.py [WORK_DIR]   (default bench/results/registration/work)
Needs numpy, scipy and nibabel (Debian python3-scipy, python3-nibabel).
"""
import sys
import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter, shift, uniform_filter

work = sys.argv[1] if len(sys.argv) > 1 else "bench/results/registration/work"


def load(name):
    x = nib.load(f"{work}/{name}").get_fdata().astype(np.float32)
    return (x - x.min()) / (x.max() - x.min())   # min-max, as SYMNet's inputs


def lncc(i, j, win=7):
    mi, mj = uniform_filter(i, win), uniform_filter(j, win)
    cross = uniform_filter(i * j, win) - mi * mj
    vi, vj = uniform_filter(i * i, win) - mi * mi, uniform_filter(j * j, win) - mj * mj
    return float((cross * cross / (vi * vj + 1e-5)).mean())


a, b = load("training_seg_08_c0_t1.nii.gz"), load("training_seg_09_c0_t1.nii.gz")
print("| pre-blur sigma (voxels) | NCC at identity | both shifted half a voxel | gain | one misaligned by a voxel | loss |")
print("|---:|---:|---:|---:|---:|---:|")
for sigma in [0, 0.75, 1.0, 1.5]:
    x, y = (gaussian_filter(a, sigma), gaussian_filter(b, sigma)) if sigma else (a, b)
    ident = lncc(x, y)
    half = lncc(shift(x, (0.5, 0.5, 0.5), order=1), shift(y, (0.5, 0.5, 0.5), order=1))
    mis = lncc(x, shift(y, (1, 0, 0), order=1))
    print(f"| {sigma} | {ident:.4f} | {half:.4f} | +{100 * (half / ident - 1):.0f} % | {mis:.4f} | -{ident - mis:.4f} |")
