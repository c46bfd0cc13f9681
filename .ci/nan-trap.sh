#!/usr/bin/env bash
# The NaN trap: NaN gradients were once seen in the first backward of a small 3D U-Net (conv3d -> cat -> conv3d) on an
# AVX-512 machine and never since. Every CI run repeats the minimal case (`unsup dev conv-nan-check`) in fresh
# processes at 1 and 2 threads; a non-finite gradient fails the run loudly, with what is needed to chase it:
# the CPU model and flags, the thread count and oneDNN's verbose log of the failing process.
# RUNS (default 10) runs per thread count; SIZE (default 32) the edge of the input cube.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
size=${SIZE:-32}
export OMP_WAIT_POLICY=PASSIVE DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Unsup.Cli -c Release -nologo -v quiet >/dev/null || { echo "nan-trap: build failed" >&2; exit 1; }
cli=(dotnet "$(ls src/Unsup.Cli/bin/Release/net*/unsup.dll | head -n 1)")
log=$(mktemp)
start=$SECONDS
for threads in 1 2; do
  for ((i = 0; i < runs; i++)); do
    ONEDNN_VERBOSE=1 "${cli[@]}" dev conv-nan-check --size "$size" --threads "$threads" --seed "$i" >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "=================================================================="
      echo "NAN TRAP: run $i at $threads thread(s) (seed $i, size $size) exited $rc"
      grep -v '^onednn_verbose' "$log"
      echo "--- CPU (lscpu) ---"; lscpu
      echo "--- threads: $threads; ONEDNN_VERBOSE=1 lines of the failing run ---"
      grep '^onednn_verbose' "$log" || echo "(no oneDNN lines: these convolutions took ATen's native path)"
      echo "=================================================================="
      rm -f "$log"
      exit 1
    fi
  done
done
rm -f "$log"
echo "nan-trap: $((2 * runs)) fresh-process runs (1 and 2 threads, size $size), all gradients finite ($((SECONDS - start)) s)"
