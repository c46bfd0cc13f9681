#!/usr/bin/env bash
# The speed suite: every training and inference path of Unsup beside a PyTorch reference (Debian's python3-torch,
# bench/speed/reference.py), same shapes and threads, back to back and alternating, REPS repetitions each (these
# machines are noisy: read the ratios, not the seconds). Writes bench/results/speed.md and bench/results/speed.jsonl.
#   bench/run.sh                     all rows, 3 repetitions
#   REPS=5 ROWS="symnet-infer gemm" THREADS=2 bench/run.sh    a subset of rows / thread counts (the other rows keep
#                                                               their earlier results; the table then dates each row)
# Needs: python3-torch, python3-torchvision, python3-nibabel, libopenblas0-pthread (see .ci/run), ../shared/data.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reps="${REPS:-3}"
data="${UNSUP_DATA:-$root/../shared/data}"
py="${UNSUP_PYTHON:-/usr/bin/python3}"
raw="$root/bench/results/speed.jsonl"
export OMP_WAIT_POLICY=PASSIVE DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export UNSUP_SYMNET_REFERENCE_DIR="${UNSUP_SYMNET_REFERENCE_DIR:-$root/tests/Unsup.Tests/Registration/Model/reference}"

dotnet build "$root/bench/Unsup.Bench.Speed/Unsup.Bench.Speed.csproj" -c Release -nologo -v quiet >/dev/null
us=(dotnet "$root/bench/Unsup.Bench.Speed/bin/Release/net10.0/unsup-bench-speed.dll")
ref=("$py" "$root/bench/speed/reference.py")

oasis=(--fixed "$data/brain/oasis_pair_A.nii.gz" --moving "$data/brain/oasis_pair_B.nii.gz"
       --weights "$data/models/symnet_neurite_oasis_c7_80000.pth")
# label | row | threads to run at | options
rows=(
  "gemm|gemm|2|--n 2048"
  "moco-step (CIFAR ResNet-18, batch 256, K 4096, 32 px)|moco-step|1 2|--width 64 --channels 3 --size 32 --batch 256 --queue 4096 --splits 8 --steps 2 --warmup 1"
  "moco-step (README recipe: width 8, batch 128, 28 px gray)|moco-step|1 2|--width 8 --channels 1 --size 28 --batch 128 --queue 4096 --splits 8 --steps 5 --warmup 2"
  "moco-step (small preset network on a CPU: width 16, stride-2 stem, MLP head, 28 px gray; batch 256, the preset has 128 since 2026-12-07)|moco-step|1 2|--width 16 --channels 1 --size 28 --batch 256 --queue 4096 --splits 8 --stem-stride 2 --mlp 1 --steps 5 --warmup 2"
  "augment (two views, 28 px gray)|augment|2|--size 28 --channels 1 --images 10000"
  "symnet-infer (160x192x224, official weights)|symnet-infer|1 2|${oasis[*]}"
  "symnet-train-step (C 7, 80x96x112)|symnet-train-step|1 2|--size 80x96x112 --channels 7 --steps 2 --warmup 1"
  "symnet-train-step (C 7, 160x144x192)|symnet-train-step|2|--size 160x144x192 --channels 7 --steps 1 --warmup 1"
  "features (width 8, 28 px gray)|features|2|--width 8 --channels 1 --size 28 --batch 512 --images 10000"
  "features (width 8, 28 px gray, batch 256 as the moco verbs use)|features|2|--width 8 --channels 1 --size 28 --batch 256 --images 10000"
  "features (width 64, 32 px)|features|2|--width 64 --channels 3 --size 32 --batch 256 --images 2000"
)
selected="${ROWS:-}"
today=$(date -u +%F)
: > "$raw.tmp"
for spec in "${rows[@]}"; do
  IFS='|' read -r label row threads opts <<<"$spec"
  if [ -n "$selected" ] && ! grep -qw -- "$row" <<<"$selected"; then continue; fi
  for t in $threads; do
    if [ -n "${THREADS:-}" ] && ! grep -qw -- "$t" <<<"$THREADS"; then continue; fi
    for i in $(seq "$reps"); do
      for side in unsup pytorch; do
        if [ "$side" = unsup ]; then cmd=("${us[@]}"); else cmd=("${ref[@]}"); fi
        # shellcheck disable=SC2086
        line=$("${cmd[@]}" "$row" --threads "$t" $opts | tail -n 1)
        echo "{\"label\": \"$label\", \"row\": \"$row\", \"threads\": $t, \"rep\": $i, \"side\": \"$side\", \"date\": \"$today\", \"result\": $line}" >> "$raw.tmp"
        echo "$label, $t threads, rep $i, $side: $line" >&2
      done
    done
  done
done
# a subset (ROWS/THREADS) replaces only its own rows: the others keep their earlier measurements, in place
if [ -n "$selected${THREADS:-}" ] && [ -f "$raw" ]; then "$py" "$root/bench/speed/merge.py" "$raw" "$raw.tmp"; fi
mv "$raw.tmp" "$raw"
"$py" "$root/bench/speed/report.py" "$raw" "$root/bench/results/speed.md"
cat "$root/bench/results/speed.md"
