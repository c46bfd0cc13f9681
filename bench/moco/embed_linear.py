#!/usr/bin/env python3
"""The learned encoder used as a user would: Fashion-MNIST written as image folders, `unsup moco embed` on them,
then a logistic regression trained outside Unsup (scikit-learn) on the embeddings. Its test accuracy is compared
with `unsup moco lincls` on the same weights (the README's claim: within 0.5 points).

    /usr/bin/python3 bench/moco/embed_linear.py --weights runs/fmnist-w16-2h            # embeddings of a run
    /usr/bin/python3 bench/moco/embed_linear.py --pixels                               # raw-pixel baseline

Needs python3-numpy, python3-sklearn and python3-pil (Debian). Images come from /usr/share/datasets/fashion-mnist
(the dataset-fashion-mnist package) or --fmnist DIR.
"""
import argparse, gzip, json, os, subprocess, sys, time
import numpy as np


def idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def split(fmnist, name):
    pre = "train" if name == "train" else "t10k"
    return idx(os.path.join(fmnist, f"{pre}-images-idx3-ubyte.gz")), idx(os.path.join(fmnist, f"{pre}-labels-idx1-ubyte.gz"))


def write_folder(images, labels, folder):
    """One PNG per image under CLASS/ (the layout `--data folder:DIR` reads); skipped when already complete."""
    from PIL import Image
    done = os.path.join(folder, ".complete")
    if os.path.exists(done):
        return
    for c in range(10):
        os.makedirs(os.path.join(folder, f"class{c}"), exist_ok=True)
    for i, (img, lab) in enumerate(zip(images, labels)):
        Image.fromarray(img, "L").save(os.path.join(folder, f"class{lab}", f"{i:05d}.png"))
    open(done, "w").close()


def embed(unsup, weights, folder, out, threads):
    """Features and labels of one image folder; the labels are the folder order, class0..class9 = Fashion-MNIST's."""
    cmd = unsup + ["moco", "embed", "--weights", weights, "--data", f"folder:{folder}", "--out", out, "--quiet", "--threads", str(threads)]
    subprocess.run(cmd, check=True)
    labels = np.genfromtxt(os.path.splitext(out)[0] + ".csv", delimiter=",", skip_header=1, usecols=2, dtype=np.int64)
    return np.load(out), labels


def logistic(xtr, ytr, xte, yte, max_iter):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(max_iter=max_iter)
    t = time.time()
    clf.fit(scaler.transform(xtr), ytr)
    acc = 100.0 * (clf.predict(scaler.transform(xte)) == yte).mean()
    return acc, time.time() - t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", help="run folder or checkpoint for `unsup moco embed`")
    p.add_argument("--pixels", action="store_true", help="logistic regression on raw pixels instead (the baseline row)")
    p.add_argument("--fmnist", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--work", default="runs/embed-linear", help="image folders and embeddings go here")
    p.add_argument("--unsup", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "unsup"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results", "moco", "embed_linear.jsonl"))
    a = p.parse_args()
    if not a.pixels and not a.weights:
        p.error("give --weights RUN or --pixels")
    xtr, ytr = split(a.fmnist, "train")
    xte, yte = split(a.fmnist, "test")
    if a.pixels:
        acc, sec = logistic(xtr.reshape(len(xtr), -1) / 255.0, ytr, xte.reshape(len(xte), -1) / 255.0, yte, a.max_iter)
        row = {"what": "raw pixels", "test_top1": round(acc, 2), "fit_s": round(sec, 1)}
    else:
        os.makedirs(a.work, exist_ok=True)
        for name, (x, y) in (("train", (xtr, ytr)), ("test", (xte, yte))):
            write_folder(x, y, os.path.join(a.work, name))
        unsup = [a.unsup]
        ftr, ltr = embed(unsup, a.weights, os.path.join(a.work, "train"), os.path.join(a.work, "train.npy"), a.threads)
        fte, lte = embed(unsup, a.weights, os.path.join(a.work, "test"), os.path.join(a.work, "test.npy"), a.threads)
        acc, sec = logistic(ftr, ltr, fte, lte, a.max_iter)
        row = {"what": "moco embed + sklearn LogisticRegression", "weights": a.weights, "dim": int(ftr.shape[1]),
               "test_top1": round(acc, 2), "fit_s": round(sec, 1)}
    print(json.dumps(row))
    os.makedirs(os.path.dirname(a.results), exist_ok=True)
    with open(a.results, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
