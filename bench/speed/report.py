"""Turns bench/results/speed.jsonl (bench/run.sh) into bench/results/speed.md: medians per row, side and thread
count, the ratio Unsup/PyTorch of the times (below 1 = Unsup faster), peak RSS of each process, and for the
convolution-heavy rows the achieved GFLOP/s as a fraction of the fp32 GEMM rate measured in the same run."""
import json
import os
import platform
import statistics
import subprocess
import sys
from collections import OrderedDict

raw, out = sys.argv[1], sys.argv[2]
runs = [json.loads(line) for line in open(raw) if line.strip()]

# the time each row is judged by, and how to read its work
TIME = {"moco-step": "sec_per_step", "symnet-train-step": "sec_per_step", "symnet-infer": "total",
        "features": "seconds", "augment": "seconds"}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


groups = OrderedDict()
for r in runs:
    groups.setdefault((r["label"], r["row"], r["threads"]), {"unsup": [], "pytorch": []})[r["side"]].append(
        dict(r["result"], date=r.get("date", "earlier (undated)")))

gemm = {side: med([g["gflop_s"] for g in v[side]]) for (l, row, t), v in groups.items() if row == "gemm" for side in v}


def fmt(x, p=2):
    return "–" if x != x else f"{x:.{p}f}"


cpu = subprocess.run(["bash", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
lines = ["# Speed suite: Unsup beside PyTorch", "",
         f"Measured by `bench/run.sh` on {os.cpu_count()} cores ({cpu}), {platform.platform()}; "
         f"{max(r['rep'] for r in runs)} alternating repetitions per row (median). Ratio = Unsup time / PyTorch time "
         "(below 1: Unsup faster). Peak RSS is each process's VmHWM.", ""]
if gemm:
    lines += [f"fp32 GEMM 2048³, 2 threads: libtorch 2.10 (Unsup) {fmt(gemm.get('unsup', float('nan')), 0)} GFLOP/s, "
              f"PyTorch 1.13 {fmt(gemm.get('pytorch', float('nan')), 0)} GFLOP/s.", ""]
# rows merged from several runs (bench/run.sh on a subset) say when each was measured
dates = {x["date"] for v in groups.values() for side in v.values() for x in side}
dated = len(dates) > 1
if dated:
    lines += ["Rows were measured on different days (a `ROWS=` subset re-measures only its rows); the GEMM rate is the "
              "latest run's, and a ratio compares the two sides of one row, measured together.", ""]
lines += ["| row | threads | Unsup s | PyTorch s | ratio | Unsup peak MB | PyTorch peak MB | GFLOP/s Unsup (of GEMM) | detail |"
          + (" measured |" if dated else ""),
          "|---|---:|---:|---:|---:|---:|---:|---:|---|" + ("---|" if dated else "")]
for (label, row, t), v in groups.items():
    if row == "gemm":
        continue
    key = TIME[row]
    tu, tp = med([x[key] for x in v["unsup"]]), med([x[key] for x in v["pytorch"]])
    mu, mp = med([x["peak_mb"] for x in v["unsup"]]), med([x["peak_mb"] for x in v["pytorch"]])
    detail, flops = "", ""
    if row in ("moco-step", "features", "augment"):
        iu, ip = med([x["img_s"] for x in v["unsup"]]), med([x["img_s"] for x in v["pytorch"]])
        detail = f"img/s {fmt(iu, 1)} vs {fmt(ip, 1)}"
    if row == "symnet-infer":
        parts = ["network", "integration", "warping", "io"]
        detail = "; ".join(f"{p} {fmt(med([x[p] for x in v['unsup']]))} vs {fmt(med([x[p] for x in v['pytorch']]))}" for p in parts)
        gf = med([x["gflop_network"] for x in v["pytorch"]])
        rate = gf / med([x["network"] for x in v["unsup"]])
        flops = f"{fmt(rate, 0)} ({fmt(100 * rate / gemm.get('unsup', float('nan')), 0)} %), network only"
    if "gflop_per_step" in (v["pytorch"][0] if v["pytorch"] else {}):
        gf = med([x["gflop_per_step"] for x in v["pytorch"]])
        rate = gf / tu
        flops = f"{fmt(rate, 0)} ({fmt(100 * rate / gemm.get('unsup', float('nan')), 0)} %)"
    when = f" {max(x['date'] for x in v['unsup'] + v['pytorch'])} |" if dated else ""
    lines.append(f"| {label} | {t} | {fmt(tu)} | {fmt(tp)} | **{fmt(tu / tp)}** | {fmt(mu, 0)} | {fmt(mp, 0)} | {flops} | {detail} |{when}")
lines += ["", "Command: `bench/run.sh` (`REPS=N`, `ROWS=\"row ...\"` for a subset). Raw results: `bench/results/speed.jsonl`."]
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out + ".tmp", "w") as fh:
    fh.write("\n".join(lines) + "\n")
os.replace(out + ".tmp", out)
