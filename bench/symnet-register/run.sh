#!/usr/bin/env bash
# Speed of `unsup symnet register` against the official SYMNet inference in PyTorch (Debian's python3-torch, CPU),
# on one 160x192x224 pair, alternating the two several times in one run (these machines are noisy: compare the
# ratio, not the seconds). Both time the network + scaling-and-squaring + composition + warping, not file I/O.
#   bench/symnet-register/run.sh [ROUNDS] [THREADS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-3}"; threads="${2:-2}"
data="${UNSUP_DATA:-$root/../shared/data}"
fixed="$data/brain/oasis_pair_A.nii.gz"; moving="$data/brain/oasis_pair_B.nii.gz"
weights="$data/models/symnet_neurite_oasis_c7_80000.pth"
py="${UNSUP_PYTHON:-/usr/bin/python3}"
ref="$root/tests/Unsup.Tests/Registration/reference/symnet_reference.py"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$root/unsup" info --threads "$threads" >/dev/null   # build first, outside the timings

us=(); pt=()
for i in $(seq "$rounds"); do
  "$root/unsup" symnet register --fixed "$fixed" --moving "$moving" --model "$weights" --out "$tmp/unsup" \
      --threads "$threads" --no-overview --quiet >/dev/null
  us+=("$("$py" -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['seconds_registration'])" "$tmp/unsup/summary.json")")
  "$py" "$ref" "$weights" "$fixed" "$moving" "$tmp/torch" "$threads" >/dev/null
  pt+=("$(printf '%.2f' "$(cat "$tmp/torch/timing.txt")")")
  echo "round $i: unsup ${us[-1]} s, pytorch ${pt[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mu=$(median "${us[@]}"); mp=$(median "${pt[@]}")
ratio=$(awk -v a="$mp" -v b="$mu" 'BEGIN {printf "%.2f", a/b}')
out="$root/bench/results/symnet_register.md"
{
  echo "# SYMNet registration speed (160x192x224, official weights, CPU, $threads threads)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), load average $(cut -d' ' -f1 /proc/loadavg) at the end; $rounds alternating rounds."
  echo
  echo "| implementation | seconds per pair (median) | all rounds |"
  echo "|---|---|---|"
  echo "| Unsup (TorchSharp 0.107, libtorch 2.10) | $mu | ${us[*]} |"
  echo "| official logic in PyTorch 1.13 (Debian) | $mp | ${pt[*]} |"
  echo
  echo "Unsup is **${ratio}x** the speed of the PyTorch reference (ratio of medians)."
  echo
  echo "Command: \`bench/symnet-register/run.sh $rounds $threads\`"
} > "$out.tmp" && mv "$out.tmp" "$out"
cat "$out"
