#!/usr/bin/env bash
# Registration on real anatomy, honestly measured: no registration; elastix affine only; elastix affine + B-spline
# (parameter files per resolution); DIPY SyN (CC); SYMNet with the official weights, fine-tuned by Unsup and trained by
# Unsup from scratch on synthesised pairs, each also with per-pair refinement (--refine). Pairs: the last 3 subjects of a
# label-map folder are held out, each synthesised CONTRASTS times with its own seed; every ordered pair of syntheses of
# two different subjects (3 x 2 x CONTRASTS^2 = 54 at CONTRASTS=3), at the grid SYMNet trains on (brain crop, 2 mm).
# Trains the models first if their run folders hold none (resumes stopped runs; at 2 mm on 2 CPU cores expect hours).
# Writes bench/results/registration/{registration.md,registration.png,pairs.csv}: per method Dice, % det J <= 0,
# std log det J, s/pair, and means with 95 % bootstrap intervals of the paired differences against the best classical row.
#   bench/registration/run.sh [LABEL_MAP_DIR]                        # the full benchmark (several hours on 2 cores)
#   MAX_PAIRS=3 bench/registration/run.sh                            # a smoke test on 3 of the pairs
#   MAX_PAIRS=30 REFINE=25 FT_STEPS=100 STEPS=0 bench/registration/run.sh   # the README's table (about 2.5 hours)
# A stopped benchmark goes on where it stopped when run again: finished (method, pair) results are kept in
# OUT/work/pair-results-*.tsv and reused while their inputs, parameter files and weights are unchanged.
# Environment: STEPS (1500; 0 = no model trained from scratch, its rows are left out), LR (1e-4, the official rate: at 1e-3 the fields shrink to zero, bench/results/registration/from-scratch.md), RUN (runs/bench-registration-2mm) for the model trained from scratch;
# FT_STEPS (300), FT_RUN (runs/bench-registration-2mm-ft) for the fine-tuned one; DOWNSAMPLE (2); CONTRASTS (3);
# MAX_PAIRS (all); REFINE (50 steps); NCC_WINDOW (training NCC window, default the trainer's 7); LABEL_WEIGHT (the
# trainer's --label-weight for the model trained from scratch, default 0 = the official unsupervised loss); PRIORS (SynthSeg
# priors folder, default DATA/synthseg if present, else Unsup's built-in T1 contrast); THREADS (2); UNSUP_DATA;
# UNSUP_PYTHON (the python3 with dipy, default /usr/bin/python3). SKIP_TRAINING=1 benchmarks only the weights present.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${UNSUP_DATA:-$root/../shared/data}"
labels="${1:-$data/synthseg}"
steps="${STEPS:-1500}"; down="${DOWNSAMPLE:-2}"; lr="${LR:-1e-4}"; threads="${THREADS:-2}"
run="${RUN:-$root/runs/bench-registration-2mm}"; ft_run="${FT_RUN:-$root/runs/bench-registration-2mm-ft}"; ft_steps="${FT_STEPS:-300}"
contrasts="${CONTRASTS:-3}"; refine="${REFINE:-50}"; max_pairs="${MAX_PAIRS:-}"; ncc="${NCC_WINDOW:-}"; label_weight="${LABEL_WEIGHT:-0}"
out="${OUT:-$root/bench/results/registration}"
official="${OFFICIAL:-$data/models/symnet_neurite_oasis_c7_80000.pth}"
priors="${PRIORS:-}"
if [ -z "$priors" ] && [ -f "$data/synthseg/prior_means_t1.npy" ]; then priors="$data/synthseg"; fi
export OMP_WAIT_POLICY=PASSIVE   # two busy-waiting OpenMP pools on two cores slow everything down

"$root/unsup" info >/dev/null    # build the CLI outside any timing
train() {  # RUN_FOLDER EXTRA_ARGS...: train unless done, resume if stopped
  local dir="$1"; shift
  if [ -f "$dir/model.pth" ] || [ -n "${SKIP_TRAINING:-}" ]; then return; fi
  if [ -f "$dir/config.json" ]; then
    "$root/unsup" symnet train --resume "$dir" --threads "$threads" --quiet
  else
    "$root/unsup" symnet train --label-maps "$labels" --priors "${priors:-builtin}" --crop brain --downsample "$down" --val 3 \
      --checkpoint-every 100 --threads "$threads" --out "$dir" --quiet ${ncc:+--ncc-window "$ncc"} "$@"
  fi
}
if [ "$steps" != 0 ]; then train "$run" --steps "$steps" --lr "$lr" --val-every 250 --label-weight "$label_weight"; fi
train "$ft_run" --steps "$ft_steps" --val-every 100 --init "$official"

dotnet build "$root/bench/Unsup.Bench.Registration" -c Release -nologo -v quiet >/dev/null
bin="$root/bench/Unsup.Bench.Registration/bin/Release/net10.0/unsup-bench-registration.dll"
scratch=(); if [ "$steps" != 0 ]; then scratch=(--model "$run/model.pth"); fi
dotnet "$bin" --label-maps "$labels" --out "$out" "${scratch[@]}" --finetuned "$ft_run/model.pth" --official "$official" \
  ${priors:+--priors "$priors"} --downsample "$down" --val 3 --contrasts "$contrasts" --refine "$refine" \
  ${max_pairs:+--max-pairs "$max_pairs"} --threads "$threads"
