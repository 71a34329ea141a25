"""Unit tests of nnlib's core (issue 3): gradients, the static/dynamic agreement,
training, bad input and save/load."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import activations as act
from nnlib.gradcheck import check_layer, numerical_gradient, rel_error
from nnlib.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD
from nnlib.static import StaticMLP
from nnlib.train import TrainingDiverged, evaluate, fit

TOL = 1e-6
shapes = st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 5))


def away_from_kinks(x):
    """Move points off 0, where ReLU-like derivatives jump and central differences lie."""
    return np.where(np.abs(x) < 1e-3, 0.1, x)


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_every_layer_passes_the_gradient_check(shape, seed):
    N, D, M = shape
    rng = np.random.default_rng(seed)
    x = away_from_kinks(rng.standard_normal((N, D)))
    layers = [Dense(D, M, rng=seed, dtype=np.float64), ReLU(), LeakyReLU(0.1), Sigmoid(), Tanh()]
    for layer in layers:
        assert check_layer(layer, x, rng=seed) < TOL, repr(layer)
    assert check_layer(Flatten(), rng.standard_normal((N, D, 2)), rng=seed) < TOL


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_losses_match_their_numerical_gradients(shape, seed):
    N, C, _ = shape
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((N, C + 1)) * 3
    y = rng.integers(0, C + 1, N)
    ce = SoftmaxCrossEntropy()
    ce.forward(logits, y)
    assert rel_error(ce.backward(), numerical_gradient(lambda z: ce.forward(z, y), logits)) < TOL
    target = rng.standard_normal((N, C))
    pred = rng.standard_normal((N, C))
    mse = MSELoss()
    mse.forward(pred, target)
    assert (
        rel_error(mse.backward(), numerical_gradient(lambda p: mse.forward(p, target), pred)) < TOL
    )


def test_activation_derivatives_match_numerical_ones():
    z = away_from_kinks(np.random.default_rng(0).standard_normal(50))
    for f, df in [
        (act.sigmoid, act.sigmoid_grad),
        (act.tanh, act.tanh_grad),
        (act.relu, act.relu_grad),
        (act.leaky_relu, act.leaky_relu_grad),
    ]:
        num = numerical_gradient(lambda v, f=f: float(np.sum(f(v))), z.copy())
        assert rel_error(df(z), num) < TOL, f.__name__


def test_softmax_and_cross_entropy_are_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [5000.0, 5000.0, 0.0]])
    p = act.softmax(logits)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    loss = SoftmaxCrossEntropy().forward(logits, np.array([0, 2]))
    assert np.isfinite(loss) and loss == pytest.approx(2500.0 + np.log(2) / 2, rel=1e-12)


def test_losses_agree_with_pytorch_definitions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits, y = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    ref = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    assert SoftmaxCrossEntropy().forward(logits, y) == pytest.approx(ref, rel=1e-12)
    a, b = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    ref = torch.nn.functional.mse_loss(torch.tensor(a), torch.tensor(b)).item()
    assert MSELoss().forward(a, b) == pytest.approx(ref, rel=1e-12)


def test_dropout_is_inverted_and_identity_at_test_time():
    x = np.ones((2000, 50), dtype=np.float32)
    layer = Dropout(0.3, rng=0)
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.7)}
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    dout = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout), dout * (out > 0) / 0.7, rtol=1e-6)
    assert layer.forward(x, training=False) is x


def test_static_and_sequential_give_identical_gradients():
    rng = np.random.default_rng(0)
    static = StaticMLP(32, 32, rng=0)
    seq = static.to_sequential()
    X, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    loss, g_static = static.loss_and_grads(X, y)
    ce = SoftmaxCrossEntropy()
    assert ce.forward(seq.forward(X), y) == pytest.approx(loss, rel=1e-12)
    seq.backward(ce.backward())
    g_seq = seq.grads()
    for l, i in zip((1, 2, 3), (0, 2, 4)):
        np.testing.assert_allclose(g_seq[f"{i}.W"], g_static[f"W{l}"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(g_seq[f"{i}.b"], g_static[f"b{l}"], rtol=1e-12, atol=1e-15)


def blobs(n=600, D=20, C=4, seed=0):
    """C Gaussian clusters in D dimensions: an easy, honest classification problem."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((C, D)) * 2
    y = rng.integers(0, C, n)
    return (centres[y] + rng.standard_normal((n, D))).astype(np.float32), y


def test_zero_hidden_layer_network_trains():
    X, y = blobs()
    model = Sequential([Dense(20, 4, rng=0)])
    before = evaluate(model, X, y)["accuracy"]
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(lr=0.1),
        X,
        y,
        epochs=10,
        batch_size=32,
        rng=0,
        progress=False,
    )
    assert history.loss[-1] < history.loss[0] / 2
    assert history.accuracy[-1] > 0.9 > before + 0.2


def test_regression_fits_sin_plus_x_when_inputs_are_standardised():
    x = np.linspace(-2 * np.pi, 2 * np.pi, 512).reshape(-1, 1)
    y = np.sin(x) + x
    X = (x - x.mean()) / x.std()
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Dense(1, 64, rng=rng, dtype=np.float64),
            Tanh(),
            Dense(64, 64, rng=rng, dtype=np.float64),
            Tanh(),
            Dense(64, 1, rng=rng, dtype=np.float64),
        ]
    )
    try:
        from nnlib.optim import Adam

        opt, epochs = Adam(lr=3e-3), 600
    except ImportError:  # pragma: no cover - before Chapter 7's optimizers exist
        opt, epochs = SGD(lr=0.05), 3000
    history = fit(model, MSELoss(), opt, X, y, epochs=epochs, batch_size=64, rng=0, progress=False)
    mse = MSELoss().forward(model.predict(X), y)
    assert mse < 1e-3, f"final MSE {mse:.2e} (history ends {history.loss[-3:]})"


def test_training_stops_with_a_helpful_error_when_the_loss_diverges():
    X, y = blobs()
    model = Sequential([Dense(20, 32, rng=0), ReLU(), Dense(32, 4, rng=1)])
    with (
        np.errstate(over="ignore", invalid="ignore"),  # NumPy's own overflow warnings
        pytest.raises(TrainingDiverged, match=r"epoch \d+, batch \d+.*smaller learning rate"),
    ):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(lr=1e6),
            X * 1e3,
            y,
            epochs=5,
            batch_size=32,
            progress=False,
        )


def test_save_and_load_round_trip_exactly(tmp_path):
    model = Sequential([Dense(6, 5, rng=0), ReLU(), Dense(5, 3, rng=1)])
    model.save(tmp_path / "m.npz")
    other = Sequential([Dense(6, 5, rng=7), ReLU(), Dense(5, 3, rng=8)]).load(tmp_path / "m.npz")
    for key, p in model.params().items():
        np.testing.assert_array_equal(other.params()[key], p)
    wrong = Sequential([Dense(6, 4, rng=0), ReLU(), Dense(4, 3, rng=1)])
    with pytest.raises(ValueError, match=r"'0.W' has shape \(6, 5\).*shape \(6, 4\)"):
        wrong.load(tmp_path / "m.npz")


def test_parameters_share_one_flat_buffer_and_optimizers_update_the_layers():
    model = Sequential([Dense(3, 2, rng=0), ReLU(), Dense(2, 1, rng=1)])
    assert set(model.params()) == {"0.W", "0.b", "2.W", "2.b"} == set(model.grads())
    assert model.flat_params.size == 3 * 2 + 2 + 2 * 1 + 1
    model.flat_params[:] = 0
    assert not model.layers[0].params["W"].any()
    X = np.ones((4, 3), np.float32)
    model.forward(X)
    model.backward(np.ones((4, 1), np.float32))
    assert model.flat_grads[-1] == 4  # db of the last layer: the sum of dout


def test_summary_lists_layers_shapes_and_counts(capsys):
    model = Sequential([Dense(784, 32), ReLU(), Dense(32, 10)])
    text = model.summary((784,))
    assert "(None, 32)" in text and "(None, 10)" in text and "25,450" in text
    assert text in capsys.readouterr().out


# Bad input: every message names the layer (or function), what it expected and what it got.
BAD_INPUTS = [
    (lambda m: m.forward(np.ones((4, 5), np.float32)), r"Dense\(6, 5\).*\(N, 6\), got \(4, 5\)"),
    (
        lambda m: m.forward(np.ones((4, 2, 3), np.float32)),
        r"Dense\(6, 5\).*\(N, 6\), got \(4, 2, 3\)",
    ),
    (lambda m: m.forward(np.ones((0, 6), np.float32)), r"empty input"),
    (lambda m: m.forward(np.full((2, 6), np.nan, np.float32)), r"NaN"),
]


@pytest.mark.parametrize(("call", "message"), BAD_INPUTS)
def test_bad_input_to_a_network_is_named(call, message):
    model = Sequential([Dense(6, 5), ReLU(), Dense(5, 3)])
    with pytest.raises(ValueError, match=message):
        call(model)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([0, 1, 3]), r"labels must be in \[0, 2\] for 3 classes, got values from 0 to 3"),
        (np.array([0, -1, 1]), r"labels must be in \[0, 2\]"),
        (np.array([0.0, 1.0, 2.0]), r"labels must be integers.*float64"),
        (np.array([0, 1]), r"3 rows but y has 2"),
        (np.array([[0], [1], [2]]), r"labels of shape \(N,\), got \(3, 1\)"),
    ],
)
def test_bad_labels_are_named(y, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxCrossEntropy().forward(np.zeros((3, 3)), y)


def test_mse_never_broadcasts():
    with pytest.raises(ValueError, match=r"shape \(4, 1\) but y has shape \(4,\)"):
        MSELoss().forward(np.zeros((4, 1)), np.zeros(4))


def test_fit_rejects_mismatched_empty_and_nan_data():
    model = Sequential([Dense(2, 2)])
    args = (model, SoftmaxCrossEntropy(), SGD(0.1))
    with pytest.raises(ValueError, match="X has 3 examples but y has shape"):
        fit(*args, np.zeros((3, 2)), np.zeros(2, int), epochs=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match="X is empty"):
        fit(*args, np.zeros((0, 2)), np.zeros(0, int), epochs=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match="NaN or inf"):
        fit(
            *args,
            np.array([[np.nan, 0.0]]),
            np.zeros(1, int),
            epochs=1,
            batch_size=2,
            progress=False,
        )


def test_history_plot_and_live_plot_run_headless():
    from nnlib.train import LivePlot

    X, y = blobs(200)
    model = Sequential([Dense(20, 4, rng=0)])
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(0.1),
        X,
        y,
        epochs=2,
        batch_size=50,
        validation_data=(X, y),
        callbacks=[LivePlot()],
        progress=False,
    )
    fig = history.plot()
    assert len(fig.axes) == 2 and len(history.time) == 2 and history.time[1] >= history.time[0]
