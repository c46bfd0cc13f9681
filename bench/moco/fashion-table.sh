#!/usr/bin/env bash
# The README's Fashion-MNIST table: every row under one protocol (linear: frozen backbone in eval mode, cached
# features, 100 epochs, x0.1 at 60/80, once on standardised features at lr 0.1 - the probe that agrees with
# scikit-learn on `moco embed` output - and once at the paper's lr 30 on raw features; kNN: k 200, t 0.1, cosine,
# 60k bank, 10k test queries; 1-NN: k 1),
# measured by the commands below. Writes bench/results/moco/fashion-mnist-table.md (and .log with every command);
# rows already measured (same label and weights) come from fashion-mnist-table.rows unless FRESH=1.
#   bench/moco/fashion-table.sh "MoCo 20 min=runs/x/checkpoints/step-N.ckpt" "MoCo 2 h=runs/x" ...
# (earlier checkpoints stay in the run when it was trained with `--keep-checkpoints 0`)
# Each argument is LABEL=WEIGHTS (a run folder or checkpoint). The raw-pixel and random-init rows come first; the
# supervised row is read from bench/results/moco/supervised.md when that exists (see bench/Unsup.Bench.Moco supervised).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/private-cli.sh
py="${UNSUP_PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
out=bench/results/moco; mkdir -p "$out"
md="$out/fashion-mnist-table.md"; log="$out/fashion-mnist-table.log"
# finished rows are kept in $cache (key: label and weights) and not measured again; FRESH=1 measures everything
cache="$out/fashion-mnist-table.rows"; [ "${FRESH:-0}" = 1 ] && { rm -f "$cache"; : > "$log"; }; touch "$cache"
echo "# $(date -u +%FT%TZ) bench/moco/fashion-table.sh $*" >> "$log"
run() { echo "\$ $*" >> "$log"; "$@" 2>&1 | tee -a "$log"; }
first_weights="${1#*=}"

knn_out() { run "${cli[@]}" moco knn --weights "$1" --data fashion-mnist --k "$2" --threads "$threads" --quiet "${@:3}"; }
encoder_top1() { awk '/^(encoder|random init)/ {print $(NF-3)" %"}'; }
pixels_top1() { awk '/^raw pixels/ {print $3" %"}'; }
knn_top1() { knn_out "$@" | encoder_top1; }
lin_top1() { run "${cli[@]}" moco lincls --weights "$1" --data fashion-mnist --out "$work/lincls-$RANDOM" --threads "$threads" --quiet "${@:2}" | awk '/^last/ {print $2" %"}'; }
row_for() {  # KEY FUNCTION ARGS...: the cached row for KEY, else FUNCTION's, remembered
  local key=$1; shift
  local r; r=$(awk -F'\t' -v k="$key" '$1 == k {r = $2} END {print r}' "$cache")
  if [ -z "$r" ]; then
    r=$("$@")
    # a failed command leaves an empty cell: stop, and do not remember the row
    case "$r" in *"|  |"*|*"| |"*) echo "fashion-table.sh: a measurement failed for '$key' (see $log)" >&2; exit 1;; esac
    printf '%s\t%s\n' "$key" "$r" >> "$cache"
  fi
  echo "$r"
}
pixel_row() {
  local k200 k1 lin
  k200=$(knn_out "$first_weights" 200 --pixels | pixels_top1); k1=$(knn_out "$first_weights" 1 --pixels | pixels_top1)
  lin=$(run "$py" bench/moco/embed_linear.py --pixels --results "$work/pixels.jsonl" | "$py" -c 'import json,sys; print("%.2f %%" % json.loads(sys.stdin.readlines()[-1])["test_top1"])')
  echo "| raw pixels (784-d) | $lin (logistic regression, \`bench/moco/embed_linear.py --pixels\`) | – | $k200 | $k1 |"
}
random_row() {
  echo "| same encoder, random initialisation | $(lin_top1 "$1" --random-init --standardize-features --lr 0.1) | $(lin_top1 "$1" --random-init) | $(knn_top1 "$1" 200 --random-init) | $(knn_top1 "$1" 1 --random-init) |"
}
weights_row() {
  echo "| $1 (\`$2\`) | $(lin_top1 "$2" --standardize-features --lr 0.1) | $(lin_top1 "$2") | $(knn_top1 "$2" 200) | $(knn_top1 "$2" 1) |"
}

rows=()
rows+=("$(row_for pixels pixel_row)")
rows+=("$(row_for "random init|$first_weights" random_row "$first_weights")")
for spec in "$@"; do
  label="${spec%%=*}"; weights="${spec#*=}"
  rows+=("$(row_for "$label|$weights" weights_row "$label" "$weights")")
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
