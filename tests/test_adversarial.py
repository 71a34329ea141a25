"""No silent wrong result, no torn state: the failures an adversarial probe found (issue 23).

One test (or a few) per numbered item of the issue, named ``test_<item>_...``; each
reproduces the failure it guards against. Item 11 (Ctrl-C) is in ``test_interrupts.py``;
the property-based test over every public layer, loss and optimizer in
``test_properties.py``.
"""

import gzip
import io
import zipfile

import numpy as np
import pytest

import nnlib
from nnlib import data, optim, schedules
from nnlib._engine.plan import PoolStep
from nnlib.conv import Conv2D, MaxPool2D
from nnlib.gradcheck import check_layer, numerical_gradient
from nnlib.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.static import StaticMLP
from nnlib.train import History, evaluate, fit

# --- Silent wrong results --------------------------------------------------------------------


def test_1_a_layer_object_used_twice_is_refused():
    r = ReLU()
    with pytest.raises(ValueError, match=r"Sequential: layer 3 \(ReLU\(\)\) is the same object "
                       r"as layer 1; each position needs its own layer"):  # fmt: skip
        Sequential([Dense(4, 5), r, Dense(5, 5), r, Dense(5, 3)])
    d = Dense(5, 5)
    with pytest.raises(
        ValueError, match=r"layer 2 \(Dense\(5, 5\)\) is the same object as layer 1"
    ):
        Sequential([Dense(4, 5), d, d])
    inner = Sequential([Dense(3, 3)])
    with pytest.raises(ValueError, match=r"layer 1 \(Sequential\(\[Dense\(3, 3\)\]\)\) is the "
                       r"same object as layer 0"):  # fmt: skip
        Sequential([inner, inner])


def test_1_separate_layers_give_the_right_gradients():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(4, 5, rng=0, dtype=np.float64), ReLU(),
                        Dense(5, 5, rng=1, dtype=np.float64), ReLU(),
                        Dense(5, 3, rng=2, dtype=np.float64)])  # fmt: skip
    for b in (p for key, p in model.params.items() if key.endswith("b")):
        b[...] = rng.uniform(0.1, 0.5, b.shape)  # no pre-activation exactly at ReLU's kink
    assert check_layer(model, rng.standard_normal((6, 4))) < 1e-6


def test_2_one_hot_rejects_labels_that_are_not_a_vector():
    with pytest.raises(ValueError, match=r"one_hot: expected integer labels of shape \(N,\), "
                       r"got shape \(2, 1\)"):  # fmt: skip
        data.one_hot(np.array([[1], [2]]))
    with pytest.raises(ValueError, match=r"one_hot: expected integer labels.*dtype float64"):
        data.one_hot(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"one_hot: num_classes must be an integer >= 1, got 2.5"):
        data.one_hot(np.array([1]), 2.5)
    np.testing.assert_array_equal(data.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])  # a list


def test_3_numerical_gradient_refuses_integer_arrays():
    def f(x):
        return float((x**2).sum())

    with pytest.raises(TypeError, match=r"numerical_gradient: x must be a float array .*"
                       r"got int64.*x.astype\(np.float64\)"):  # fmt: skip
        numerical_gradient(f, np.array([1, 2, 3]))
    with pytest.raises(TypeError, match=r"numerical_gradient: x must be a float array .*list"):
        numerical_gradient(f, [1.0, 2.0])  # nudged in place: a copy would be nudged instead
    np.testing.assert_allclose(numerical_gradient(f, np.array([1.0, 2, 3])), [2, 4, 6])


def classifier(C=3):
    return Sequential([Dense(2, C, rng=0)])


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([-3, 9]), r"evaluate: labels must be in \[0, 2\] for the model's 3 outputs"),
        (np.array([0.0, 1.0]), r"evaluate: classification labels must be integers of shape "
                               r"\(N,\), got shape \(2,\) and dtype float64"),
        (np.array([[0], [1]]), r"evaluate: classification labels must be integers of shape "
                               r"\(N,\), got shape \(2, 1\)"),
    ],
)  # fmt: skip
def test_4_evaluate_runs_fits_label_checks(y, message):
    with pytest.raises(ValueError, match=message):
        evaluate(classifier(), np.zeros((2, 2)), y, loss=SoftmaxCrossEntropy())
    if y.dtype.kind == "i" and y.ndim == 1:
        with pytest.raises(ValueError, match=message):
            evaluate(classifier(), np.zeros((2, 2)), y)
    else:  # without a loss, accuracy is all there is to compute: it needs labels
        with pytest.raises(ValueError, match=r"evaluate: without a loss it computes the "
                           r"accuracy, for integer labels .*loss=MSELoss\(\)"):  # fmt: skip
            evaluate(classifier(), np.zeros((2, 2)), y)


def test_4_evaluate_with_targets_gives_the_loss_and_checks_them():
    model = classifier(1)
    X = np.ones((4, 2), np.float32)
    y = model.predict(X) + 1.0
    assert evaluate(model, X, y, loss=MSELoss()) == {"loss": pytest.approx(1.0)}
    with pytest.raises(ValueError, match=r"evaluate: y \(as float32\) of shape \(4, 1\) "
                       r"contains NaN"):  # fmt: skip
        evaluate(model, X, np.full((4, 1), np.nan), loss=MSELoss())
    with pytest.raises(ValueError, match=r"evaluate: X \(as float32\) .* contains NaN or inf"):
        evaluate(model, np.full((4, 2), 1e39), y, loss=MSELoss())  # finite in float64 only


def test_5_static_mlp_labels_are_checked():
    net = StaticMLP(4, 4, n_in=3, n_out=3, rng=0)
    X = np.zeros((1, 3))
    for y, message in [(np.array([-1]), r"labels must be in \[0, 2\], got values from -1"),
                       (np.array([3]), r"labels must be in \[0, 2\], got values from 3"),
                       (np.array([1.0]), r"expected integer labels of shape \(1,\)")]:  # fmt: skip
        with pytest.raises(ValueError, match="StaticMLP: " + message):
            net.loss_and_grads(X, y)


def test_6_summary_raises_the_layers_shape_error():
    with pytest.raises(ValueError, match=r"Sequential.summary, layer 0: Dense\(3, 4\): expected "
                       r"input of shape \(N, 3\), got \(1, 5\)"):  # fmt: skip
        Sequential([Dense(3, 4)]).summary((5,))
    with pytest.raises(ValueError, match=r"Sequential.summary, layer 0: Conv2D\(1, 2, 5\): .*"
                       r"3x3 after padding 0, smaller than the 5x5 kernel"):  # fmt: skip
        Sequential([Conv2D(1, 2, 5)]).summary((1, 3, 3))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2D(1, 1, 2.5), r"Conv2D: kernel_size must be an integer >= 1, got 2.5"),
        (lambda: MaxPool2D(2.5), r"MaxPool2D: kernel_size must be an integer >= 1, got 2.5"),
        (lambda: Conv2D(1, 1, 2, stride=1.5), r"Conv2D: stride must be an integer >= 1"),
        (lambda: Conv2D(1, 1, 2, padding=0.5), r"Conv2D: padding must be an integer >= 0"),
        (lambda: MaxPool2D(2, stride=1.5), r"MaxPool2D: stride must be an integer >= 1"),
        (lambda: Dense(2, 2, dtype=np.int32), r"Dense: dtype must be np.float32 or .*, got int32"),
        (lambda: Dense(2, 2, dtype=bool), r"Dense: dtype must be np.float32 or .*, got bool"),
        (lambda: Dense(2, 2, dtype=complex), r"Dense: dtype must be np.float32 .*complex128"),
        (lambda: Conv2D(1, 1, 2, dtype=np.int64), r"Conv2D: dtype must be np.float32 or"),
        (lambda: Dense(2, 2, dtype=np.float16), r"Dense: dtype must be np.float32 .*float16"),
        (lambda: Dense(2, 2, dtype="bogus"), r"Dense: dtype must be np.float32 .*'bogus'"),
        (lambda: schedules.StepLR(1.5), r"StepLR: step_size must be an integer >= 1, got 1.5"),
        (lambda: schedules.CosineAnnealingLR(0.5), r"CosineAnnealingLR: T_max must be an "
                                                    r"integer >= 1"),
        (lambda: schedules.LinearWarmup(2.5), r"LinearWarmup: warmup_steps must be an integer"),
        (lambda: schedules.ExponentialLR("0.9"), r"ExponentialLR: gamma must be a positive number"),
    ],
)  # fmt: skip
def test_7_sizes_dtypes_and_steps_are_validated_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_8_mse_refuses_complex_numbers():
    with pytest.raises(
        TypeError, match=r"MSELoss: expected y_hat of real numbers, got dtype complex128"
    ):
        MSELoss().forward(np.array([[1j]]), np.array([[1.0]]))
    with pytest.raises(
        TypeError, match=r"MSELoss: expected y of real numbers, got dtype complex128"
    ):
        MSELoss().forward(np.array([[1.0]]), np.array([[1j]]))


NAN = np.nan
NAN_IMAGES = np.array([[[[NAN, 1.0, 5.0, NAN, 0.0, 2.0],
                         [2.0, NAN, NAN, 3.0, 1.0, 1.0],
                         [0.0, 0.0, 4.0, 4.0, 7.0, NAN],
                         [NAN, 9.0, 4.0, 4.0, 7.0, 1.0]]]])  # fmt: skip


@pytest.mark.parametrize(("k", "stride"), [(2, None), (2, 1), (3, 1), (3, 2), (2, 3)])
def test_9_one_nan_rule_for_max_pooling_pytorchs(k, stride):
    torch = pytest.importorskip("torch")
    x = np.concatenate([NAN_IMAGES, -NAN_IMAGES[:, :, ::-1]], axis=1)  # (1, 2, 4, 6)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.max_pool2d(xt, k, stride)
    dout = np.arange(1.0, out_t.numel() + 1).reshape(out_t.shape)
    out_t.backward(torch.tensor(dout))
    readable, engine = MaxPool2D(k, stride), PoolStep(MaxPool2D(k, stride))
    for path in (readable, engine):  # the engine's tiling windows go backward in one pass
        out = path.forward(x)
        np.testing.assert_array_equal(out, out_t.detach().numpy())  # NaN where torch has NaN
        np.testing.assert_array_equal(path.backward(dout), xt.grad.numpy())


def test_9_the_tiled_engine_path_is_the_one_tested():
    x = NAN_IMAGES
    step = PoolStep(MaxPool2D(2))
    out = step.forward(x)
    dx = step.backward(np.ones_like(out))
    # Window 0 holds NaN at (0, 0) and (1, 1): PyTorch sends dout to the last one.
    assert dx[0, 0, 1, 1] == 1 and dx[0, 0, 0, 0] == 0
    assert dx.sum() == out.size  # every window passes its gradient on once


# --- Half-changed state ----------------------------------------------------------------------


def small_net(seed):
    return Sequential([Dense(3, 4, rng=seed), ReLU(), Dense(4, 2, rng=seed + 1)])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.full((4, 2), 1, np.int32), r"parameter '2.W' is int32 of shape \(4, 2\) in .*, "
                                       r"but this network's is float32"),
        (np.full((4, 2), "a"), r"parameter '2.W' is <U1"),
        (np.full((4, 2), 1j), r"parameter '2.W' is complex128"),
        (np.zeros((2, 4), np.float32), r"parameter '2.W' is float32 of shape \(2, 4\)"),
        (np.full((4, 2), 1e39), r"parameter '2.W' in .* \(as float32\) .* contains NaN or inf"),
    ],
)  # fmt: skip
def test_10_load_checks_every_array_before_writing_any(tmp_path, bad, message):
    model = small_net(0)
    before = {k: v.copy() for k, v in model.params.items()}
    arrays = {k: v.copy() for k, v in small_net(5).params.items()}
    arrays["2.W"] = bad  # the last array: every other one would have been written by then
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="Sequential.load: " + message):
        model.load(tmp_path / "bad.npz")
    for key, value in before.items():
        np.testing.assert_array_equal(model.params[key], value)


def test_10_a_float64_file_loads_into_a_float32_network(tmp_path):
    source = small_net(3)
    np.savez(tmp_path / "wide.npz", **{k: v.astype(np.float64) for k, v in source.params.items()})
    model = small_net(0).load(tmp_path / "wide.npz")
    for key, value in source.params.items():
        np.testing.assert_array_equal(model.params[key], value)


def test_12_fit_checks_x_and_y_after_conversion_before_the_first_step():
    model = small_net(0)
    before = {k: v.copy() for k, v in model.params.items()}
    X = np.ones((8, 3))  # float64
    X[6] = 1e39  # finite in float64, inf in float32: the last batch would have failed
    with pytest.raises(ValueError, match=r"fit: X \(as float32\) of shape \(8, 3\) contains "
                       r"NaN or inf"):  # fmt: skip
        fit(model, MSELoss(), optim.SGD(lr=0.1), X, np.zeros((8, 2)), epochs=1, batch_size=2,
            shuffle=False, progress=False)  # fmt: skip
    y = np.zeros((8, 2))
    y[7, 1] = np.nan  # a NaN target is bad data, not a learning rate that is too large
    with pytest.raises(ValueError, match=r"fit: y \(as float32\) of shape \(8, 2\) contains "
                       r"NaN or inf"):  # fmt: skip
        fit(model, MSELoss(), optim.SGD(lr=0.1), np.ones((8, 3)), y, epochs=1, batch_size=2,
            progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"fit \(validation_data\): y \(as float32\)"):
        fit(model, MSELoss(), optim.SGD(lr=0.1), np.ones((8, 3)), np.zeros((8, 2)), epochs=1,
            batch_size=2, validation_data=(np.ones((2, 3)), y[6:]), progress=False)  # fmt: skip
    for key, value in before.items():
        np.testing.assert_array_equal(model.params[key], value)


@pytest.mark.parametrize("engine", [True, False])
def test_13_an_optimizer_used_for_a_second_model_is_an_error(engine):
    previous = nnlib.set_engine(engine)
    try:
        X, y = np.ones((4, 3), np.float32), np.zeros(4, np.int64)
        first, same_size, other_size = small_net(0), small_net(1), Sequential([Dense(3, 2)])
        opt = optim.Adam(lr=0.01)
        fit(first, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=2, progress=False)
        for second in (same_size, other_size):
            before = {k: v.copy() for k, v in second.params.items()}
            with pytest.raises(ValueError, match=r"Adam.step: parameter '0.W' is not the array "
                               r"this optimizer has been updating.*reset\(\)"):  # fmt: skip
                fit(second, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=2,
                    progress=False)  # fmt: skip
            for key, value in before.items():  # refused before anything changed
                np.testing.assert_array_equal(second.params[key], value)
        opt.reset()  # the explicit way to reuse it: a fresh start
        fit(same_size, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=2, progress=False)
        assert {state["step"] for state in opt.state.values()} == {2}
        assert set(opt.state) == set(same_size.params)
    finally:
        nnlib.set_engine(previous)


# --- Files and messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", r"is empty \(0 bytes\)"),
        (b"0.W,0.b\n1.5,2.5\n", r"is text"),
        (b"\x89HDF\r\n\x1a\n" + bytes(64), r"is an HDF5 file"),
        (b"\x80\x04\x95" + bytes(16), r"is a Python pickle \(never loaded"),
        (b"\x00\x01\xfe\xff" * 4, r"is in another format"),
        (b"PK\x03\x04" + bytes(16), r"is a damaged zip archive"),
    ],
)  # fmt: skip
def test_14_load_says_what_the_file_is_and_what_it_expects(tmp_path, content, what):
    (tmp_path / "m.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"Sequential.load: .*m.npz " + what) as info:
        small_net(0).load(tmp_path / "m.npz")
    assert "allow_pickle" not in str(info.value)  # never an invitation to the unsafe path


def test_14_a_npy_file_and_a_missing_file(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"one.npy is a single array \(.npy, as np.save "
                       r"writes\), not the .npz file of named arrays"):  # fmt: skip
        small_net(0).load(tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError, match=r"Sequential.load: there is no file .*none.npz"):
        small_net(0).load(tmp_path / "none")


def npz_with(path, members):
    """Write an .npz archive whose members are the given raw .npy bytes (name -> bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, raw in members.items():
            archive.writestr(name + ".npy", raw)


def npy_bytes(header, data=b""):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def good_members(model):
    members = {}
    for key, p in model.params.items():
        buffer = io.BytesIO()
        np.save(buffer, p)
        members[key] = buffer.getvalue()
    return members


def peak_memory_of(run):
    import tracemalloc

    tracemalloc.start()
    try:
        run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_15_a_header_declaring_a_huge_array_is_refused_before_any_data_is_read(tmp_path):
    model = small_net(0)
    members = good_members(model)
    huge = {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
    members["0.W"] = npy_bytes(huge, bytes(64))
    npz_with(tmp_path / "huge.npz", members)
    with pytest.raises(ValueError, match=r"parameter '0.W' is float32 of shape \(1000000000000,\)"):
        model.load(tmp_path / "huge.npz")  # not a MemoryError


def test_15_a_small_file_cannot_make_load_decompress_a_large_one(tmp_path):
    model = small_net(0)
    before = {k: v.copy() for k, v in model.params.items()}
    members = good_members(model)
    members["2.W"] = npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (25_000_000,)},
                               bytes(100_000_000))  # 100 MB of zeros: ~100 kB zipped  # fmt: skip
    npz_with(tmp_path / "bomb.npz", members)
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000

    def load():
        with pytest.raises(ValueError, match=r"parameter '2.W' is float32 of shape \(25000000,\)"):
            model.load(tmp_path / "bomb.npz")

    assert peak_memory_of(load) < 5_000_000  # bytes: the 100 MB were never decompressed
    # The right header on top of far more data than it declares: also refused, also cheap.
    members["2.W"] = npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (4, 2)},
                               bytes(100_000_000))  # fmt: skip
    npz_with(tmp_path / "bomb.npz", members)

    def load_trailing():
        with pytest.raises(ValueError, match=r"array '2.W' in .* is damaged \(more data than "
                           r"its header says\)"):  # fmt: skip
            model.load(tmp_path / "bomb.npz")

    assert peak_memory_of(load_trailing) < 5_000_000
    for key, value in before.items():
        np.testing.assert_array_equal(model.params[key], value)


def test_15_truncated_data_and_a_foreign_member_are_named(tmp_path):
    model = small_net(0)
    members = good_members(model)
    members["0.b"] = members["0.b"][:-4]  # the last float32 is missing
    npz_with(tmp_path / "short.npz", members)
    with pytest.raises(ValueError, match=r"array '0.b' in .*short.npz is damaged \(EOF"):
        model.load(tmp_path / "short.npz")
    members = good_members(model)
    members["0.b"] = b"a text file under an array's name"
    npz_with(tmp_path / "foreign.npz", members)
    with pytest.raises(ValueError, match=r"array '0.b' in .*foreign.npz is not a NumPy array"):
        model.load(tmp_path / "foreign.npz")


def idx_file(path, dims, data=b"", compress=False):
    raw = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + data
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_16_read_idx_counts_sizes_with_python_integers(tmp_path, compress):
    # 2**22 cubed is 2**66: np.prod wraps it to 0, so a header-only file "matched".
    wraps = idx_file(tmp_path / "wraps", (2**22, 2**22, 2**22), compress=compress)
    with pytest.raises(ValueError, match=r"header says shape \(4194304, 4194304, 4194304\), "
                       r"so 73,786,976,294,838,206,480 bytes, but the file has 16"):  # fmt: skip
        data.read_idx(wraps)
    extra = idx_file(tmp_path / "extra", (2,), b"\x01\x02\x03", compress=compress)
    with pytest.raises(ValueError, match=r"so 10 bytes, but the file has more than 10"):
        data.read_idx(extra)
    cut = idx_file(tmp_path / "cut", (2, 3, 4), compress=compress)
    cut.write_bytes(bytes([0, 0, 8, 3, 0, 0]))  # ends inside the dimensions
    with pytest.raises(ValueError, match=r"cut: the file ends inside its header"):
        data.read_idx(cut)
    good = idx_file(tmp_path / "good", (2, 1, 2), b"\x01\x02\x03\x04", compress=compress)
    np.testing.assert_array_equal(data.read_idx(good), [[[1, 2]], [[3, 4]]])


def test_16_a_small_gzip_cannot_make_read_idx_decompress_a_large_one(tmp_path):
    bomb = idx_file(tmp_path / "bomb.gz", (10,), bytes(100_000_000), compress=True)
    assert bomb.stat().st_size < 1_000_000

    def read():
        with pytest.raises(ValueError, match=r"so 18 bytes, but the file has more than 18"):
            data.read_idx(bomb)

    assert peak_memory_of(read) < 5_000_000


def test_17_a_cache_path_under_a_file_is_named_as_the_cause(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLIB_DATA_SOURCE", raising=False)  # `make pytest` forces the sample
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path / "file" / "sub"))
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(data.DownloadError, match=r"the cache folder .*file/sub cannot be created "
                       r"\(Not a directory\).*set the NNLIB_DATA environment variable to a "
                       r"folder you can write to") as info:  # fmt: skip
        data.load_mnist("full", verbose=False)
    assert "connect to the internet" not in str(info.value)
    monkeypatch.setattr(data, "_offline", {})
    with pytest.warns(data.DataFallbackWarning, match=r"the cache folder .*file/sub cannot be "
                      r"created"):  # fmt: skip
        assert data.load_mnist(verbose=False).source == "sample"


def test_17_a_corrupt_cached_file_with_the_mirrors_down_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLIB_DATA_SOURCE", raising=False)  # `make pytest` forces the sample
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path))
    monkeypatch.setitem(data.SOURCES["mnist"], "mirrors", ["http://127.0.0.1:9/"])
    corrupt = tmp_path / "train-images-idx3-ubyte.gz"
    corrupt.write_bytes(b"half a download")
    with pytest.raises(data.DownloadError, match=r"(?s)the cached copy .*train-images-idx3-ubyte.gz"
                       r" is corrupt \(its SHA-256 is wrong\).*To fix it: delete it"):  # fmt: skip
        data.load_mnist("full", verbose=False)
    monkeypatch.setattr(data, "_offline", {})
    with pytest.warns(data.DataFallbackWarning, match=r"the cached copy .* is corrupt"):
        data.load_mnist(verbose=False)
    corrupt.unlink()
    with pytest.raises(data.DownloadError, match=r"(?s)no cached copy, and no mirror served it "
                       r"\(.*\).*To fix it: connect to the internet"):  # fmt: skip
        data.load_mnist("full", verbose=False)


def test_18_array_likes_are_accepted_where_natural():
    dense = Dense(2, 3, rng=0)
    out = dense.forward([[1.0, 2.0]])  # a list: converted, then kept for backward
    np.testing.assert_allclose(out, np.array([[1.0, 2.0]]) @ dense.params["W"])
    assert dense.backward([[1.0, 1.0, 1.0]]).shape == (1, 2)
    relu = ReLU()
    assert relu.forward([[-1.0, 2.0]]).tolist() == [[0.0, 2.0]]
    assert relu.backward([[5.0, 5.0]]).tolist() == [[0.0, 5.0]]
    assert MSELoss().forward([[1.0]], [[3.0]]) == 4.0
    assert SoftmaxCrossEntropy().forward([[0.0, 0.0]], [1]) == pytest.approx(np.log(2))
    assert Sequential([Dense(2, 1)]).predict([[1.0, 2.0]]).shape == (1, 1)
    assert Dropout(0.5, rng=0).forward(np.ones((2, 8), np.int64), training=True).dtype.kind == "f"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Dense(2, 3).forward([[1.0], [2.0, 3.0]]), ValueError,
         r"Dense\(2, 3\): input is not a rectangular array of numbers"),
        (lambda: ReLU().forward(np.array([1j])), TypeError,
         r"ReLU\(\): expected input of real numbers, got dtype complex128"),
        (lambda: Tanh().forward(np.array(["a"])), TypeError,
         r"Tanh\(\): expected input of real numbers, got dtype <U1"),
        (lambda: Sequential([Dense(1, 1)]).forward(np.array([[None]])), TypeError,
         r"Sequential: expected input of real numbers, got dtype object"),
        (lambda: Sequential([Dense(1, 1)]).predict(3.0), ValueError,
         r"Sequential.predict: expected a batch of inputs \(N, ...\), got shape \(\)"),
        (lambda: SoftmaxCrossEntropy().forward(np.array([[1, 2]]), np.array([0])), ValueError,
         r"SoftmaxCrossEntropy: expected the network's outputs as floats, got dtype int64"),
        (lambda: MSELoss().backward(), RuntimeError,
         r"MSELoss: backward\(\) called before forward"),
        (lambda: SoftmaxCrossEntropy().backward(), RuntimeError,
         r"SoftmaxCrossEntropy: backward\(\) called before forward"),
        (lambda: Sigmoid().backward(np.ones(2)), RuntimeError,
         r"Sigmoid\(\): backward\(\) called before forward"),
        (lambda: LeakyReLU("0.1"), ValueError, r"LeakyReLU: alpha must be a finite number"),
        (lambda: Dropout("0.5"), ValueError, r"Dropout: p must be a number in \[0, 1\)"),
        (lambda: optim.SGD("0.1"), ValueError, r"SGD: lr must be positive \(> 0\), got '0.1'"),
        (lambda: optim.SGD(float("inf")), ValueError, r"SGD: lr must be positive"),
        (lambda: optim.Adam(0.1, betas=0.9), ValueError, r"Adam: betas must be two numbers"),
        (lambda: optim.SGD(0.1).step({"w": np.zeros(2, int)}, {"w": np.ones(2)}), TypeError,
         r"SGD.step: parameter 'w' must be a NumPy array of float32 or float64, got dtype int64"),
        (lambda: optim.SGD(0.1).step({"w": [0.0, 0.0]}, {"w": [1.0, 1.0]}), TypeError,
         r"SGD.step: parameter 'w' must be a NumPy array of float32 or float64, got list"),
        (lambda: optim.Adam(0.1).step({"w": np.zeros(2)}, {"w": np.ones(2, complex)}), TypeError,
         r"Adam.step: gradient 'w' must be a NumPy array of float16 .*complex128"),
        (lambda: optim.SGD(0.1).step([np.zeros(2)], [np.ones(2)]), TypeError,
         r"SGD.step: expected two dicts, params and grads .*got list and list"),
        (lambda: optim.SGD(0.1).step({"w": np.broadcast_to(np.zeros(1), (2,))},
                                     {"w": np.ones(2)}),
         ValueError, r"SGD.step: parameter 'w' is read-only"),
        (lambda: Conv2D(1, 1, 2).forward(np.zeros((0, 1, 3, 3))).shape, None, (0, 1, 2, 2)),
        (lambda: Flatten().forward(np.zeros((0, 2, 3))).shape, None, (0, 6)),
    ],
)  # fmt: skip
def test_18_raw_errors_become_named_ones(call, error, message):
    if error is None:  # an empty batch is a batch: the empty result, no ZeroDivisionError
        assert call() == message
        return
    with pytest.raises(error, match=message):
        call()


def fit_small(**kwargs):
    args = dict(model=small_net(0), loss=SoftmaxCrossEntropy(), optimizer=optim.SGD(lr=0.1),
                X=np.ones((4, 3)), y=np.zeros(4, int), epochs=1, batch_size=2,
                progress=False)  # fmt: skip
    return fit(**{**args, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(epochs=1.5), ValueError, r"fit: epochs must be an integer >= 1, got 1.5"),
        (dict(validation_data=(1, 2, 3)), ValueError,
         r"fit: validation_data must be a pair \(X_val, y_val\), got tuple of length 3"),
        (dict(validation_data=iter([1, 2])), ValueError,
         r"fit: validation_data must be a pair \(X_val, y_val\), got list_iterator$"),
        (dict(loss=optim.SGD(lr=0.1)), TypeError,
         r"fit: the loss must have the methods forward, backward \(such as "
         r"SoftmaxCrossEntropy\(\)\), got SGD"),
        (dict(optimizer=MSELoss()), TypeError, r"fit: the optimizer must have the methods step"),
        (dict(callbacks=schedules.StepLR(1)), TypeError, r"fit: callbacks must be a list"),
    ],
)  # fmt: skip
def test_18_fit_names_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        fit_small(**kwargs)


def test_18_history_plot_takes_a_single_axes():
    import matplotlib.pyplot as plt

    history = History(loss=[1.0, 0.5], accuracy=[0.5, 0.8])
    fig, ax = plt.subplots()
    assert history.plot(axes=ax) is fig
    assert len(ax.lines) == 1 and ax.get_title() == "Loss"
