"""The data module (issue 4): the embedded samples, the IDX parser, hashed downloads from a
local mirror, the Debian copy of Fashion-MNIST, and the fallback notice. No outside network."""

import gzip
import hashlib
import http.server
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from nnlib import data


@pytest.fixture(autouse=True)
def _no_forced_source(monkeypatch):
    monkeypatch.delenv("NNLIB_DATA_SOURCE", raising=False)
    monkeypatch.setattr(data, "_offline", {})


@pytest.mark.parametrize("load", [data.load_mnist, data.load_fashion_mnist])
def test_the_sample_loads_offline_with_the_promised_shapes(load):
    d = load("sample", verbose=False)
    assert d.source == "sample"
    assert d.X_train.shape == (4000, 28, 28) and d.X_test.shape == (1000, 28, 28)
    assert d.X_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0 <= d.X_train.min() and d.X_train.max() <= 1 and d.X_train.max() > 0.99
    assert np.bincount(d.y_train).tolist() == [400] * 10
    assert np.bincount(d.y_test).tolist() == [100] * 10


def idx_bytes(array):
    """Encode a uint8 array as IDX."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_idx_parser_reads_what_it_should_and_rejects_bad_files(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    good = tmp_path / "good.gz"
    good.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(data.read_idx(good), images)

    truncated = tmp_path / "truncated"
    truncated.write_bytes(idx_bytes(images)[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.read_idx(truncated)
    wrong_magic = tmp_path / "magic"
    wrong_magic.write_bytes(b"\x00\x00\x0d\x03" + idx_bytes(images)[4:])
    with pytest.raises(ValueError, match="magic bytes 00000d03"):
        data.read_idx(wrong_magic)
    cut_gzip = tmp_path / "cut.gz"
    cut_gzip.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(ValueError, match="cut.gz: broken gzip data"):
        data.read_idx(cut_gzip)
    no_suffix = tmp_path / "gzipped-without-suffix"  # gzip is recognised by its magic bytes
    no_suffix.write_bytes(good.read_bytes())
    np.testing.assert_array_equal(data.read_idx(no_suffix), images)


def test_mismatched_image_and_label_counts_are_an_error(tmp_path, monkeypatch):
    files = {
        "train-images-idx3-ubyte.gz": idx_bytes(np.zeros((3, 28, 28))),
        "train-labels-idx1-ubyte.gz": idx_bytes(np.zeros(2)),
        "t10k-images-idx3-ubyte.gz": idx_bytes(np.zeros((1, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(np.zeros(1)),
    }
    sums = {}
    for name, raw in files.items():
        (tmp_path / name).write_bytes(gzip.compress(raw))
        sums[name] = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    monkeypatch.setitem(data.SOURCES["mnist"], "system_dirs", [str(tmp_path)])
    monkeypatch.setitem(data.SOURCES["mnist"], "sha256", sums)
    with pytest.raises(ValueError, match="MNIST train: 3 images but 2 labels"):
        data.load_mnist("full", verbose=False)


@pytest.fixture
def mirror(tmp_path):
    """A tiny MNIST served over HTTP from 127.0.0.1; yields (url, files, request log)."""
    root = tmp_path / "mirror"
    root.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 20),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 5),
    }
    files = {}
    (root / "bad").mkdir()  # a mirror serving the wrong bytes under the right names
    for name, array in arrays.items():
        raw = gzip.compress(idx_bytes(array), mtime=0)
        (root / name).write_bytes(raw)
        (root / "bad" / name).write_bytes(raw[:-1] + b"!")
        files[name] = hashlib.sha256(raw).hexdigest()
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, fmt, *args):
            log.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", files, log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_full_download_verifies_hashes_and_refetches_a_corrupt_cache(mirror, tmp_path, monkeypatch):
    url, sums, log = mirror
    cache = tmp_path / "cache"
    monkeypatch.setenv("NNLIB_DATA", str(cache))
    # A dead first mirror and one serving wrong bytes: the third one must be used.
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [closed_port(), url + "bad/", url])
    monkeypatch.setitem(data.SOURCES["mnist"], "sha256", sums)
    d = data.load_mnist("full", verbose=False)
    assert d.source == "full" and d.X_train.shape == (20, 28, 28) and d.y_test.shape == (5,)
    assert sum(p.startswith("/bad/") for p in log) == 4
    log.clear()
    data.load_mnist("full", verbose=False)  # all cached: no request at all
    assert log == []
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [url])

    corrupt = cache / "train-images-idx3-ubyte.gz"
    corrupt.write_bytes(b"not the file we want")
    data.load_mnist("full", verbose=False)
    assert log == ["/train-images-idx3-ubyte.gz"]
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == sums[corrupt.name]
    assert sorted(p.name for p in cache.iterdir()) == sorted(sums)  # no partial files


def test_full_with_no_network_says_what_was_tried_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))
    dead = closed_port()
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [dead])
    with pytest.raises(OSError, match="Could not get the full MNIST") as info:
        data.load_mnist("full")
    message = str(info.value)
    assert dead + "train-images-idx3-ubyte.gz" in message
    assert "NNLIB_DATA" in message and "source='sample'" in message
    assert list(Path(tmp_path).iterdir()) == []


def test_auto_falls_back_to_the_sample_with_a_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [closed_port()])
    with pytest.warns(data.DataFallbackWarning, match="4,000 training and 1,000 test.*lower"):
        d = data.load_mnist()
    assert d.source == "sample"
    assert "sample shipped with nnlib" in capsys.readouterr().out


def test_auto_tries_the_download_once_per_process(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [closed_port()])
    calls = []
    fetch = data._fetch
    monkeypatch.setattr(data, "_fetch", lambda *a, **k: calls.append(1) or fetch(*a, **k))
    with pytest.warns(data.DataFallbackWarning):
        data.load_mnist(verbose=False)
    with pytest.warns(data.DataFallbackWarning, match="not retried"):
        assert data.load_mnist(verbose=False).source == "sample"
    assert len(calls) == 1


def test_auto_uses_a_cached_full_set_without_the_network(mirror, tmp_path, monkeypatch):
    url, sums, log = mirror
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path / "cache"))
    monkeypatch.setitem(data.SOURCES["mnist"], "sha256", sums)
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [url])
    data.load_mnist("full", verbose=False)
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [closed_port()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = data.load_mnist(verbose=False)
    assert d.source == "full" and d.X_train.shape == (20, 28, 28)


def test_environment_forces_the_source(monkeypatch, capsys):
    monkeypatch.setenv("NNLIB_DATA_SOURCE", "sample")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # forcing the sample is not a fallback: no warning
        assert data.load_mnist().source == "sample"
    assert "forced by NNLIB_DATA_SOURCE" in capsys.readouterr().out
    monkeypatch.setenv("NNLIB_DATA_SOURCE", "tiny")
    with pytest.raises(ValueError, match=r"must be 'sample' or 'full' \(or unset\), got 'tiny'"):
        data.load_mnist()
    monkeypatch.delenv("NNLIB_DATA_SOURCE")
    with pytest.raises(ValueError, match="source must be 'auto', 'full' or 'sample'"):
        data.load_mnist("everything")


def test_forcing_full_with_no_network_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA_SOURCE", "full")
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", [closed_port()])
    with pytest.raises(data.DownloadError, match="Could not get the full MNIST"):
        data.load_mnist()


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)",
)
def test_full_fashion_mnist_loads_from_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))  # an empty cache: nothing downloaded
    d = data.load_fashion_mnist("full", verbose=False)
    assert d.source == "full"
    assert d.X_train.shape == (60000, 28, 28) and d.X_test.shape == (10000, 28, 28)
    assert np.bincount(d.y_train).tolist() == [6000] * 10


def test_repr_names_the_data_source_and_shapes():
    text = repr(data.load_fashion_mnist("sample", verbose=False))
    assert (
        text
        == "Dataset('fashion_mnist', source='sample', train=(4000, 28, 28), test=(1000, 28, 28))"
    )


def test_flatten_and_one_hot():
    X = np.zeros((3, 28, 28), np.float32)
    assert data.flatten(X).shape == (3, 784)
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"integer labels in \[0, 2\]"):
        data.one_hot(np.array([3]), 3)
