#!/usr/bin/env bash
# The README's Fashion-MNIST table: every row under one protocol (linear: frozen backbone in eval mode, cached
# features, 100 epochs, x0.1 at 60/80, once on standardised features at lr 0.1 - the probe that agrees with
# scikit-learn on `moco embed` output - and once at the paper's lr 30 on raw features; kNN: k 200, t 0.1, cosine,
# 60k bank, 10k test queries; 1-NN: k 1),
# measured by the commands below. Writes bench/results/moco/fashion-mnist-table.md (and .log with every command).
#   bench/moco/fashion-table.sh "MoCo 20 min=runs/x/all-checkpoints/ckpt-A" "MoCo 2 h=runs/x" ...
# Each argument is LABEL=WEIGHTS (a run folder or checkpoint). The raw-pixel and random-init rows come first; the
# supervised row is read from bench/results/moco/supervised.md when that exists (see bench/Unsup.Bench.Moco supervised).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/private-cli.sh
py="${UNSUP_PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
out=bench/results/moco; mkdir -p "$out"
md="$out/fashion-mnist-table.md"; log="$out/fashion-mnist-table.log"; : > "$log"
run() { echo "\$ $*" >> "$log"; "$@" 2>&1 | tee -a "$log"; }
first_weights="${1#*=}"

knn_out() { run "${cli[@]}" moco knn --weights "$1" --data fashion-mnist --k "$2" --threads "$threads" --quiet "${@:3}"; }
encoder_top1() { awk '/^(encoder|random init)/ {print $(NF-3)" %"}'; }
pixels_top1() { awk '/^raw pixels/ {print $3" %"}'; }
knn_top1() { knn_out "$@" | encoder_top1; }
lin_top1() { run "${cli[@]}" moco lincls --weights "$1" --data fashion-mnist --out "$work/lincls-$RANDOM" --threads "$threads" --quiet "${@:2}" | awk '/^last/ {print $2" %"}'; }

rows=()
# one pass each for k 200 and k 1 gives the raw-pixel rows and the first weights' encoder numbers together
first_knn=$(knn_out "$first_weights" 200 --pixels); first_1nn=$(knn_out "$first_weights" 1 --pixels)
pix_knn=$(pixels_top1 <<<"$first_knn"); pix_1nn=$(pixels_top1 <<<"$first_1nn")
pix_lin=$(run "$py" bench/moco/embed_linear.py --pixels --results "$work/pixels.jsonl" | "$py" -c 'import json,sys; print("%.2f %%" % json.loads(sys.stdin.readlines()[-1])["test_top1"])')
rows+=("| raw pixels (784-d) | $pix_lin (logistic regression, \`bench/moco/embed_linear.py --pixels\`) | – | $pix_knn | $pix_1nn |")
rows+=("| same encoder, random initialisation | $(lin_top1 "$first_weights" --random-init --standardize-features --lr 0.1) | $(lin_top1 "$first_weights" --random-init) | $(knn_top1 "$first_weights" 200 --random-init) | $(knn_top1 "$first_weights" 1 --random-init) |")
for spec in "$@"; do
  label="${spec%%=*}"; weights="${spec#*=}"
  if [ "$weights" = "$first_weights" ]; then knn=$(encoder_top1 <<<"$first_knn"); nn1=$(encoder_top1 <<<"$first_1nn")
  else knn=$(knn_top1 "$weights" 200); nn1=$(knn_top1 "$weights" 1); fi
  rows+=("| $label (\`$weights\`) | $(lin_top1 "$weights" --standardize-features --lr 0.1) | $(lin_top1 "$weights") | $knn | $nn1 |")
done
sup=""
[ -f "$out/supervised.md" ] && sup=$(grep -o '\*\*[0-9.]* %\*\*' "$out/supervised.md" | tr -d '*' || true)
[ -n "$sup" ] && rows+=("| same encoder trained with labels (upper bound, \`$out/supervised.md\`) | $sup (end to end) | – | – | – |")

{
  echo "# Fashion-MNIST: MoCo features against raw pixels, random init and labels"
  echo
  echo "Test split (10,000 images). Linear: frozen backbone in eval mode, cached centre-view features, 100 epochs,"
  echo "x0.1 at 60 and 80 (last epoch); standardised: each feature scaled to zero mean and unit variance over the training"
  echo "split, lr 0.1 (\`--standardize-features --lr 0.1\`); paper: raw features, lr 30. kNN: cosine similarity, k 200, votes exp(sim / 0.1), all 60,000 training images as"
  echo "the bank. 1-NN: the same with k 1. Backbone features (pooled, as \`lincls\` and \`embed\` use)."
  echo
  echo "| features | linear top-1 (standardised) | linear top-1 (paper, lr 30) | kNN (k 200) top-1 | 1-NN top-1 |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Command: \`bench/moco/fashion-table.sh $(printf '"%s" ' "$@")\` (every command and its output in \`$log\`)."
} > "$md.tmp" && mv "$md.tmp" "$md"
cat "$md"
