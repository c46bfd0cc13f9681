#!/usr/bin/env bash
# Data-parallel scaling on this machine: MoCo pretraining (ResNet-18 width 8, CIFAR stem, batch 128, 8 BN splits,
# Fashion-MNIST 28 px) as 1 process x 2 threads against 2 MPI ranks x 1 thread, alternating, ROUNDS rounds.
# Writes bench/results/mpi_scaling.md: images/s (median over steps after the first 3 of each run), the time rank 0
# spends inside collectives per step, and the allreduce volume per step.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${ROUNDS:-2}"
export OMP_WAIT_POLICY=PASSIVE UNSUP_DATA="${UNSUP_DATA:-$root/../shared/data}"
"$root/unsup" info >/dev/null            # build once before timing
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
args=(moco pretrain --data fashion-mnist --max-images 3840 --preset cifar --arch resnet18 --width 8 --batch-size 128
      --bn-splits 8 --symmetric false --epochs 1 --knn-every 0 --quiet)
for r in $(seq "$rounds"); do
  "$root/unsup" "${args[@]}" --threads 2 --out "$tmp/one-$r" >/dev/null
  mpiexec.mpich -n 2 "$root/unsup" "${args[@]}" --threads 1 --out "$tmp/two-$r" >/dev/null
done
python3 - "$tmp" "$rounds" > "$root/bench/results/mpi_scaling.md" <<'PY'
import json, statistics, sys, glob, platform, subprocess
tmp, rounds = sys.argv[1], int(sys.argv[2])
def steps(run):
    return [json.loads(l) for l in open(f"{run}/metrics.jsonl") if '"loss"' in l]
def step_ips(run):
    m = steps(run)[3:]
    return [128 / (128 / x["img_per_s"]) for x in m]
rows = {}
for kind in ("one", "two"):
    ips, comm = [], []
    for r in range(1, rounds + 1):
        m = steps(f"{tmp}/{kind}-{r}")
        ips.append(m[-1]["img_per_s"])           # epoch average up to the last step
        comm += [x["comm_s"] for x in m[3:] if "comm_s" in x]
    rows[kind] = (statistics.median(ips), statistics.median(comm) if comm else 0.0, ips)
summary = json.load(open(f"{tmp}/two-1/summary.json"))
floats = summary["allreduceFloatsPerStep"]
one, two = rows["one"], rows["two"]
print("# MPI data-parallel scaling (MoCo pretraining, this 2-core CPU)\n")
print(f"`bench/mpi-scaling/run.sh`, {rounds} alternating rounds; ResNet-18 width 8 (CIFAR stem), Fashion-MNIST 28 px, global batch 128,")
print("8 BN splits (4 per rank with 2 ranks), asymmetric loss, 30 steps per run; MPICH (ch3:nemesis, shared memory) on one host.")
print("The machine was shared with other jobs while this ran.\n")
print("| layout | images/s (median of runs) | per run | time in collectives per step (rank 0, median) |")
print("|---|---|---|---|")
print(f"| 1 process x 2 threads | {one[0]:.0f} | {', '.join(f'{v:.0f}' for v in one[2])} | - |")
print(f"| 2 processes x 1 thread | {two[0]:.0f} | {', '.join(f'{v:.0f}' for v in two[2])} | {two[1]*1000:.1f} ms |")
print()
print(f"Allreduce volume per step: {floats:,} float32 gradients = {floats*4/1e6:.2f} MB per rank (bucketed: 16 MB buckets),")
print(f"plus the shuffling-BN gathers (images and keys, about B x (C·H·W + 128) floats) and 2 scalars.")
PY
cat "$root/bench/results/mpi_scaling.md"
