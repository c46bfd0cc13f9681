#!/usr/bin/env bash
# Registration on real anatomy: no registration, SYMNet trained by Unsup on synthesised pairs (from scratch, and
# fine-tuned from the official weights), the official SYMNet weights and elastix (affine + B-spline), on all ordered
# pairs of the last 3 subjects of a label-map folder, at the grid SYMNet trains on (brain crop, downsampled). Trains
# the models first if their run folders hold none (resumes stopped runs).
# Writes bench/results/registration/{registration.md,registration.png,pairs.csv}.
#   bench/registration/run.sh [LABEL_MAP_DIR]
# Environment: STEPS (1500), LR (1e-3), RUN (runs/bench-registration) for the model trained from scratch;
# FT_STEPS (300), FT_RUN (runs/bench-registration-ft) for the fine-tuned one; DOWNSAMPLE (3); PRIORS (SynthSeg
# priors folder, default DATA/synthseg if present, else Unsup's built-in T1 contrast); THREADS (2); UNSUP_DATA.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${UNSUP_DATA:-$root/../shared/data}"
labels="${1:-$data/synthseg}"
steps="${STEPS:-1500}"; down="${DOWNSAMPLE:-3}"; lr="${LR:-1e-3}"; threads="${THREADS:-2}"
run="${RUN:-$root/runs/bench-registration}"; ft_run="${FT_RUN:-$root/runs/bench-registration-ft}"; ft_steps="${FT_STEPS:-300}"
out="${OUT:-$root/bench/results/registration}"
official="${OFFICIAL:-$data/models/symnet_neurite_oasis_c7_80000.pth}"
priors="${PRIORS:-}"
if [ -z "$priors" ] && [ -f "$data/synthseg/prior_means_t1.npy" ]; then priors="$data/synthseg"; fi
export OMP_WAIT_POLICY=PASSIVE   # two busy-waiting OpenMP pools on two cores slow everything down

"$root/unsup" info >/dev/null    # build the CLI outside any timing
train() {  # RUN_FOLDER EXTRA_ARGS...: train unless done, resume if stopped
  local dir="$1"; shift
  if [ -f "$dir/model.pth" ]; then return; fi
  if [ -f "$dir/config.json" ]; then
    "$root/unsup" symnet train --resume "$dir" --threads "$threads" --quiet
  else
    "$root/unsup" symnet train --label-maps "$labels" --priors "${priors:-builtin}" --crop brain --downsample "$down" --val 3 \
      --checkpoint-every 100 --threads "$threads" --out "$dir" --quiet "$@"
  fi
}
train "$run" --steps "$steps" --lr "$lr" --val-every 250
train "$ft_run" --steps "$ft_steps" --val-every 100 --init "$official"

dotnet build "$root/bench/Unsup.Bench.Registration" -c Release -nologo -v quiet >/dev/null
bin="$root/bench/Unsup.Bench.Registration/bin/Release/net10.0/unsup-bench-registration.dll"
dotnet "$bin" --label-maps "$labels" --out "$out" --model "$run/model.pth" --finetuned "$ft_run/model.pth" --official "$official" \
  ${priors:+--priors "$priors"} --downsample "$down" --val 3 --threads "$threads"
