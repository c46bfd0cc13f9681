#!/usr/bin/env bash
# Memory over a long run: 2,000 MoCo steps (ResNet-18 width 8, 28 px Fashion-MNIST, batch 64) and 500 SYMNet
# training steps (3D, the OASIS pair at 4 mm: 40x48x56; SYM_DOWNSAMPLE=8 for 20x24x28), sampling the process's resident memory (VmRSS) every
# 2 s. Growth = (median RSS of the last 10 % of samples) / (median of the first 10 % after warm-up) - 1, where
# warm-up is the first 20 % of the run. Writes bench/results/memory.md.
# Usage: bench/memory/run.sh [moco-steps] [symnet-steps]      (defaults 2000 500; UNSUP_DATA as for the tests)
#        The raw samples are kept in memory/NAME.rss beside the results file.
#        PARTS=symnet OUT=/tmp/m.md bench/memory/run.sh    runs one part only (PARTS: "moco symnet" by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
moco_steps=${1:-2000}; sym_steps=${2:-500}
export OMP_WAIT_POLICY=PASSIVE DOTNET_CLI_TELEMETRY_OPTOUT=1
source bench/lib/private-cli.sh   # builds the CLI; sets work (temp, removed on exit) and cli (a private copy)
out=${OUT:-bench/results/memory.md}
parts=${PARTS:-moco symnet}

# run NAME CMD...: runs CMD, samples RSS into $work/NAME.rss ("seconds kB"), prints "min warm end growth% seconds"
sample() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 & local pid=$!
  local t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    awk -v t=$((SECONDS - t0)) '/^VmRSS/ {print t, $2}' "/proc/$pid/status" 2>/dev/null >>"$work/$name.rss" || true
    sleep 2
  done
  wait "$pid" || { echo "$name failed:" >&2; tail -n 20 "$work/$name.log" >&2; exit 1; }
  python3 - "$work/$name.rss" $((SECONDS - t0)) "$work/$name/metrics.jsonl" <<'PY'
import sys, json, statistics as st
def growth(v):   # median of the 10 % right after the first 20 % (warm-up) vs median of the last 10 %
    n = len(v); w = max(1, n // 5); tenth = max(1, n // 10)
    warm = st.median(v[w:w + tenth]); end = st.median(v[-tenth:])
    return warm, end, 100 * (end / warm - 1)
kb = [int(l.split()[1]) / 1024 for l in open(sys.argv[1]) if l.strip()]
warm, end, g = growth(kb)
# the same at one point of every step (after it, freed pages returned): the run's own rss_mb per step
steps = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
per = [r["rss_mb"] for r in steps if "rss_mb" in r and "loss" in r]
sw, se, sg = growth(per) if len(per) >= 10 else (float("nan"),) * 3
print(f"{len(kb)} {min(kb):.0f} {max(kb):.0f} {warm:.0f} {end:.0f} {g:+.1f} {sys.argv[2]} {sw:.0f} {se:.0f} {sg:+.1f}")
PY
}

batches=$(( (moco_steps + 99) / 100 ))
moco=(moco pretrain --data fashion-mnist --max-images 6400 --preset cifar --arch resnet18 --width 8 --batch-size 64
      --symmetric false --epochs "$batches" --knn-every 0 --threads 2 --quiet --out "$work/moco")
mn=- mmin=- mmax=- mwarm=- mend=- mgrowth=- msec=- mpw=- mpe=- mpg=-; sn=- smin=- smax=- swarm=- send=- sgrowth=- ssec=- spw=- spe=- spg=-
[[ " $parts " != *" moco "* ]] || read -r mn mmin mmax mwarm mend mgrowth msec mpw mpe mpg < <(sample moco "${cli[@]}" "${moco[@]}")
sym=(symnet train --images "$work/pair.txt" --downsample "${SYM_DOWNSAMPLE:-4}" --steps "$sym_steps" --checkpoint-every 100 --threads 2 --quiet --out "$work/symnet")
printf '%s\n' "$UNSUP_DATA/brain/oasis_pair_A.nii.gz" "$UNSUP_DATA/brain/oasis_pair_B.nii.gz" >"$work/pair.txt"
[[ " $parts " != *" symnet "* ]] || read -r sn smin smax swarm send sgrowth ssec spw spe spg < <(sample symnet "${cli[@]}" "${sym[@]}")

mkdir -p bench/results
cat >"$out" <<MD
# Memory over long runs

\`bench/memory/run.sh $moco_steps $sym_steps\` on $(nproc) cores ($(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end).
Resident memory (VmRSS) two ways: sampled every 2 s from outside (any moment of a step), and the run's own
\`rss_mb\` in metrics.jsonl, read at the same point of every step (after it, freed pages returned). Warm-up = the
first 20 % of the series; growth = median of the last 10 % over the median of the 10 % right after warm-up.

| run | steps | time | samples | RSS min / max MB | sampled: after warm-up → end MB | sampled growth | per step: after warm-up → end MB | per-step growth |
|---|---|---|---|---|---|---|---|---|
| MoCo pretrain (ResNet-18 w8, 28 px, batch 64, K 4096, checkpoint every 100 steps) | $moco_steps | ${msec} s | $mn | $mmin / $mmax | $mwarm → $mend | ${mgrowth} % | $mpw → $mpe | **${mpg} %** |
| SYMNet train (3D OASIS pair / ${SYM_DOWNSAMPLE:-4}, C 7, checkpoint every 100 steps) | $sym_steps | ${ssec} s | $sn | $smin / $smax | $swarm → $send | ${sgrowth} % | $spw → $spe | **${spg} %** |

Commands (with \`unsup\` = \`dotnet exec src/Unsup.Cli/bin/Release/net10.0/unsup.dll\`):

    unsup ${moco[*]//$work/\$TMP}
    unsup ${sym[*]//$work/\$TMP}
MD
# keep the raw samples ("seconds kB" per line) beside the table, so a growth can be looked at afterwards
mkdir -p "$(dirname "$out")/memory"; cp "$work"/*.rss "$(dirname "$out")/memory/" 2>/dev/null || true
cat "$out"
