#!/usr/bin/env bash
# Kill and resume: SIGKILL `moco pretrain` and `symnet train` (tiny runs, a checkpoint every step) at random moments,
# resume each time, and check the final weights are byte-identical to an uninterrupted run's.
# Usage: bench/faults/kill-resume.sh [kills-per-verb]   (default 10; UNSUP_DATA as for the tests; VERBS="moco symnet")
# A kill lands 0-0.5 s after the process wrote its first checkpoint since it started, i.e. while it trains and,
# with a checkpoint every step, often while it writes one. Everything runs with one thread (bit-exact reductions).
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-10}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
source bench/lib/private-cli.sh   # builds the CLI; sets work (temp, removed on exit) and cli (a private copy)
RANDOM=${KILL_SEED:-$$}

# trial NAME FINAL-FILE START-ARGS... -- RESUME-ARGS...   (the run folder is appended as --out / --resume)
trial() {
  local name=$1 final=$2; shift 2
  local start=() resume=()
  while [ "$1" != -- ]; do start+=("$1"); shift; done; shift; resume=("$@")
  local t0=$SECONDS straight="$work/$name-straight" run="$work/$name-killed"
  "${cli[@]}" "${start[@]}" --out "$straight" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; return 1; }
  local done_kills=0 finished=0 stray=0
  while [ $done_kills -lt "$kills" ]; do
    local before=""; [ -f "$run/checkpoints/latest" ] && before=$(cat "$run/checkpoints/latest")
    if [ -f "$run/config.json" ]; then "${cli[@]}" "${resume[@]}" --resume "$run" >>"$work/$name.log" 2>&1 &
    else "${cli[@]}" "${start[@]}" --out "$run" >>"$work/$name.log" 2>&1 & fi
    local pid=$! waited=0
    # wait for a checkpoint newer than the one it resumed from
    while kill -0 $pid 2>/dev/null && { [ ! -f "$run/checkpoints/latest" ] || [ "$(cat "$run/checkpoints/latest" 2>/dev/null)" = "$before" ]; }; do
      sleep 0.05; waited=$((waited + 1)); [ $waited -lt 3000 ] || { echo "$name: no progress in 150 s" >&2; tail "$work/$name.log" >&2; return 1; }
    done
    sleep "0.$(printf '%03d' $((RANDOM % 500)))"
    if ! kill -9 $pid 2>/dev/null; then wait $pid || true; finished=1; break; fi
    wait $pid 2>/dev/null || true
    done_kills=$((done_kills + 1))
    stray=$((stray + $(find "$run" -name '*.tmp' | wc -l)))   # a kill mid-write may leave a temp file; it must never be taken for a checkpoint
  done
  "${cli[@]}" "${resume[@]}" --resume "$run" >>"$work/$name.log" 2>&1 || { echo "$name: final resume failed" >&2; tail "$work/$name.log" >&2; return 1; }
  local verdict=identical
  cmp -s "$straight/$final" "$run/$final" || verdict=DIFFERENT
  printf '%s: %d SIGKILLs%s, resumed each time; %s (%s bytes) %s to the uninterrupted run; %d temp files left by kills (ignored); %d s\n' \
    "$name" $done_kills "$([ $finished = 1 ] && echo ' (the run finished before the last kill)')" "$final" "$(stat -c %s "$run/$final")" "$verdict" $stray $((SECONDS - t0))
  [ $verdict = identical ] && [ $done_kills = "$kills" ]
}

printf '%s\n' "$UNSUP_DATA/brain/oasis_slice_A_2d.nii.gz" "$UNSUP_DATA/brain/oasis_slice_B_2d.nii.gz" >"$work/slices.txt"
rc=0
verbs=${VERBS:-moco symnet}
[[ " $verbs " != *" moco "* ]] || trial moco checkpoints/step-000096.ckpt \
  moco pretrain --data fashion-mnist --max-images 1024 --preset cifar --arch resnet18 --width 8 --batch-size 32 --moco-k 1024 \
    --symmetric false --epochs 3 --knn-every 0 --checkpoint-every 1 --threads 1 --seed 3 --quiet \
  -- moco pretrain --checkpoint-every 1 --threads 1 --quiet || rc=1
# (model.pth is a zip whose entries carry the time they were written: the final checkpoint holds the same weights, byte-stable)
[[ " $verbs " != *" symnet "* ]] || trial symnet checkpoints/step-000060.ckpt \
  symnet train --images "$work/slices.txt" --downsample 4 --steps 60 --checkpoint-every 1 --val-every 0 --threads 1 --seed 3 --quiet \
  -- symnet train --threads 1 --quiet || rc=1
exit $rc
