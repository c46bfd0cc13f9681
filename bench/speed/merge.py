"""bench/run.sh on a subset of rows: merges the new measurements (NEW, the subset's lines of speed.jsonl) into the
earlier ones (OLD). A (label, threads) row measured anew replaces all its earlier lines at the place of the first;
rows not measured anew keep theirs; a new row goes after the rows of its kind. Writes the result to NEW."""
import json
import sys

old_path, new_path = sys.argv[1], sys.argv[2]


def key(line):
    r = json.loads(line)
    return r["label"], r["threads"]


new = [l for l in open(new_path) if l.strip()]
old = [l for l in open(old_path) if l.strip()]
fresh = {}
for l in new:
    fresh.setdefault(key(l), []).append(l)
merged, placed = [], set()
for l in old:
    k = key(l)
    if k not in fresh:
        merged.append(l)
    elif k not in placed:
        merged += fresh[k]
        placed.add(k)
# a row new to the table goes after the last line of the same kind of row (moco-step beside moco-step), else at the end
for k, ls in fresh.items():
    if k in placed:
        continue
    kind = json.loads(ls[0])["row"]
    at = max((i + 1 for i, l in enumerate(merged) if json.loads(l)["row"] == kind), default=len(merged))
    merged[at:at] = ls
with open(new_path, "w") as fh:
    fh.writelines(merged)
