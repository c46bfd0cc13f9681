#!/usr/bin/env bash
# Affine pre-alignment compared in one run: `unsup affine` (local NCC and mutual information), elastix's affine stage
# (bench/registration/elastix/affine.txt: Mattes MI, 3 levels, 300 iterations each) and DIPY's AffineRegistration
# (bench/registration/dipy/affine_pair.py: the tutorial's translation -> rigid -> affine with MI), on whole-head T1-like
# images synthesised from the shared SynthSeg label maps in their native 256^3 grids, each with its own random affine
# and deformation (`unsup synth --head --deform`), so no two are aligned. Every ordered pair of N subjects.
# Dice: bench/registration/label_dice.py (brain structures, FreeSurfer ids 1-99, present in both maps), the same
# definition for every method; "none" is the moving labels where they lie in the world, on the fixed grid.
# Time: wall clock of each tool's process per pair (loading and writing included), and the registration alone where
# the tool reports it. Writes bench/results/affine.md and bench/results/affine.csv.
#   bench/registration/affine.sh [N]        (default 3 subjects = 6 ordered pairs; THREADS (2), UNSUP_DATA)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-3}; threads=${THREADS:-2}
py=${UNSUP_PYTHON:-/usr/bin/python3}
export OMP_WAIT_POLICY=PASSIVE
source bench/lib/private-cli.sh   # builds the CLI; sets work (temp, removed on exit) and cli (a private copy)
synthseg=$UNSUP_DATA/synthseg
for i in $(seq 1 "$n"); do
  "${cli[@]}" synth --labels "$synthseg/training_seg_$(printf %02d "$i").nii.gz" --out "$work/img$i.nii.gz" --out-labels "$work/lab$i.nii.gz" \
    --head --deform --priors "$synthseg" --seed $((100 + i)) --threads "$threads" --quiet
done

now() { date +%s.%N; }
secs() { "$py" -c "print(f'{$2 - $1:.2f}')"; }
csv=bench/results/affine.csv; mkdir -p bench/results
echo "fixed,moving,method,dice,labels,wall_s,registration_s" > "$work/affine.csv"
row() { echo "$1,$2,$3,$4,$5,$6,$7" >> "$work/affine.csv"; echo "pair $1<-$2 $3: Dice $4 ($5 labels), $6 s (registration $7 s)"; }
for i in $(seq 1 "$n"); do for j in $(seq 1 "$n"); do
  [ "$i" = "$j" ] && continue
  f=$work/img$i.nii.gz; m=$work/img$j.nii.gz; fl=$work/lab$i.nii.gz; ml=$work/lab$j.nii.gz
  # none: the moving labels resampled onto the fixed grid through both headers only
  "$py" -c "import nibabel as nb, nibabel.processing as p, sys; nb.save(p.resample_from_to(nb.load(sys.argv[2]), nb.load(sys.argv[1]), order=0), sys.argv[3])" \
    "$fl" "$ml" "$work/none-$i-$j.nii.gz"
  read -r d k < <("$py" bench/registration/label_dice.py "$fl" "$ml" "$work/none-$i-$j.nii.gz"); row "$i" "$j" none "$d" "$k" 0 0

  for metric in LocalNcc MutualInformation; do
    o=$work/u-$metric-$i-$j; t0=$(now)
    "${cli[@]}" affine --fixed "$f" --moving "$m" --moving-labels "$ml" --metric "$metric" --out "$o" --threads "$threads" --quiet > /dev/null
    t1=$(now); reg=$("$py" -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['seconds']:.2f}\")" "$o/summary.json")
    read -r d k < <("$py" bench/registration/label_dice.py "$fl" "$ml" "$o/moved_labels.nii.gz"); row "$i" "$j" "unsup affine ($metric)" "$d" "$k" "$(secs "$t0" "$t1")" "$reg"
  done

  o=$work/e-$i-$j; mkdir -p "$o"; t0=$(now)
  elastix -f "$f" -m "$m" -p bench/registration/elastix/affine.txt -out "$o" -threads "$threads" > "$o/stdout.txt"
  t1=$(now)
  sed -e 's/(FinalBSplineInterpolationOrder 3)/(FinalBSplineInterpolationOrder 0)/' -e 's/(ResultImagePixelType "float")/(ResultImagePixelType "int")/' \
    "$o/TransformParameters.0.txt" > "$o/labels.txt"
  transformix -in "$ml" -tp "$o/labels.txt" -out "$o" -threads "$threads" > "$o/transformix.txt"
  # elastix's registration time: its log's total minus reading the images (the same span Unsup's summary reports)
  reg=$("$py" -c "import re,sys; s=open(sys.argv[1]).read(); print(f\"{float(re.search(r'Total time elapsed: ([0-9.]+)s', s)[1]) - float(re.search(r'Reading images took ([0-9]+) ms', s)[1]) / 1000:.2f}\")" "$o/elastix.log")
  read -r d k < <("$py" bench/registration/label_dice.py "$fl" "$ml" "$o/result.nii.gz"); row "$i" "$j" "elastix affine" "$d" "$k" "$(secs "$t0" "$t1")" "$reg"

  t0=$(now); reg=$("$py" bench/registration/dipy/affine_pair.py "$f" "$m" "$ml" "$work/d-$i-$j.nii.gz"); t1=$(now)
  read -r d k < <("$py" bench/registration/label_dice.py "$fl" "$ml" "$work/d-$i-$j.nii.gz"); row "$i" "$j" "DIPY AffineRegistration" "$d" "$k" "$(secs "$t0" "$t1")" "$reg"
done; done
mv "$work/affine.csv" "$csv"

"$py" - "$csv" "$n" "$threads" > bench/results/affine.md.tmp <<'PY'
import csv, sys, statistics as st, platform, os
rows = list(csv.DictReader(open(sys.argv[1])))
methods = list(dict.fromkeys(r["method"] for r in rows))
print("# Affine pre-alignment: Unsup, elastix, DIPY\n")
print(f"`bench/registration/affine.sh {sys.argv[2]}` on {os.cpu_count()} cores, {sys.argv[3]} threads per tool: whole-head images synthesised from "
      "the SynthSeg label maps 1..N in their native 256^3 grids, each with its own random affine and deformation; every ordered pair. "
      "Dice over the brain structures present in both maps (same script for every method). Means over pairs (min-max).\n")
print("| method | mean Dice | min-max | wall s/pair | registration s/pair |")
print("|---|---:|---:|---:|---:|")
for m in methods:
    r = [x for x in rows if x["method"] == m]
    d = [float(x["dice"]) for x in r]; w = [float(x["wall_s"]) for x in r]; g = [float(x["registration_s"]) for x in r]
    print(f"| {m} | {st.mean(d):.3f} | {min(d):.3f}-{max(d):.3f} | {st.mean(w):.1f} | {st.mean(g):.1f} |")
print("\nPer pair: `bench/results/affine.csv`. Wall: each tool's whole process (start, reading, registering, writing its outputs: "
      "Unsup and DIPY write the moved label map, elastix only its transform; transformix's resampling is not counted). Registration: "
      "from the images in memory to the transform (Unsup's summary.json `seconds`, elastix's log total minus its image reading, "
      "DIPY's optimisation); pyramid building is inside it for every tool.")
PY
mv bench/results/affine.md.tmp bench/results/affine.md
cat bench/results/affine.md
