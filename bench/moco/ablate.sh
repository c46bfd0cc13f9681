#!/usr/bin/env bash
# Ablations of the small-image recipe on Fashion-MNIST: each variant is a short `moco pretrain` run (options on top of
# the defaults), then the two numbers the README's table reports for it: kNN (k 200, backbone features, the run's last
# monitor pass) and the linear probe on standardised features (`moco lincls --standardize-features --lr 0.1`).
#   bench/moco/ablate.sh "w16=--width 16 --epochs 1" "w32-s2=--width 32 --stem-stride 2 --epochs 1" ...
# PARALLEL runs go at once with THREADS threads each (default 2 x 1 thread: both see the same machine, so a pair is a
# fair comparison on a noisy host). A variant whose run folder OUT/NAME already has summary.json is not trained again
# (a killed ablation resumes). Rows are merged by name into bench/results/moco/ablations.tsv and rendered to
# ablations.md with the commit and the minutes each run took.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/private-cli.sh
parallel="${PARALLEL:-2}"; threads="${THREADS:-1}"; out="${OUT:-runs/abl}"
res=bench/results/moco; tsv="$res/ablations.tsv"; md="$res/ablations.md"
mkdir -p "$out" "$res"; [ -f "$tsv" ] || printf 'name\targs\tminutes\timg_per_s\tepochs\tknn\tlinear_std\tcommit\n' > "$tsv"
commit=$(git rev-parse --short HEAD)

train() {  # NAME ARGS...
  local name=$1; shift
  [ -f "$out/$name/summary.json" ] && return 0
  local how=(--out "$out/$name" "$@"); [ -f "$out/$name/config.json" ] && how=(--resume "$out/$name")
  "${cli[@]}" moco pretrain --data fashion-mnist --knn-features backbone --threads "$threads" --quiet "${how[@]}" \
    >> "$out/$name.log" 2>&1
}

row() {  # NAME ARGS
  local name=$1 args=$2 s="$out/$1/summary.json"
  local lin
  lin=$("${cli[@]}" moco lincls --weights "$out/$name" --data fashion-mnist --standardize-features --lr 0.1 \
        --out "$work/lincls-$name" --threads "$((threads * parallel))" --quiet | awk '/^last/ {print $2}')
  python3 - "$s" "$name" "$args" "$lin" "$commit" "$tsv" <<'EOF'
import json, sys, csv
s, name, args, lin, commit, tsv = sys.argv[1:]
j = json.load(open(s))
rows = [r for r in csv.reader(open(tsv), delimiter='\t')]
rows = [rows[0]] + [r for r in rows[1:] if r[0] != name]
rows.append([name, args, f"{j['minutes']:.1f}", f"{j['imagesPerSecond']:.0f}", str(j['epochs']),
             f"{100 * j['knnLast']:.2f}", lin, commit])
with open(tsv + '.tmp', 'w', newline='') as f: csv.writer(f, delimiter='\t', lineterminator='\n').writerows(rows)
import os; os.replace(tsv + '.tmp', tsv)
EOF
}

names=(); argss=()
for spec in "$@"; do names+=("${spec%%=*}"); argss+=("${spec#*=}"); done
for ((i = 0; i < ${#names[@]}; i += parallel)); do
  for ((j = i; j < i + parallel && j < ${#names[@]}; j++)); do
    # shellcheck disable=SC2086
    train "${names[j]}" ${argss[j]} &
  done
  wait
done
for ((i = 0; i < ${#names[@]}; i++)); do row "${names[i]}" "${argss[i]}"; done

{
  echo "# Fashion-MNIST: ablations of the small-image recipe"
  echo
  echo "Each row: \`moco pretrain --data fashion-mnist --knn-features backbone\` plus the options shown, $parallel runs at a"
  echo "time with $threads thread(s) each on the 2-core machine (minutes and img/s are per run while sharing it). kNN: k 200,"
  echo "backbone features, the run's last monitor pass. Linear: \`moco lincls --standardize-features --lr 0.1\` (frozen"
  echo "backbone, 100 epochs). Command: \`bench/moco/ablate.sh \"NAME=OPTIONS\" ...\` at the commit shown."
  echo
  echo "| variant | options | minutes | img/s | epochs | kNN top-1 % | linear top-1 % | commit |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$tsv" | awk -F'\t' '{printf "| %s | `%s` | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}'
} > "$md.tmp" && mv "$md.tmp" "$md"
cat "$md"
