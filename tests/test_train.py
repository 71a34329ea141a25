"""nnlib.train: fit, History, evaluate, callbacks and LivePlot."""

import time

import numpy as np
import pytest

from nnlib.layers import Dense, Dropout, ReLU, Tanh
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD
from nnlib.train import History, LivePlot, TrainingDiverged, evaluate, fit


def test_zero_hidden_layer_network_trains(blobs):
    X, y = blobs()
    model = Sequential([Dense(20, 4, rng=0)])
    before = evaluate(model, X, y)["accuracy"]
    history = fit(
        model, SoftmaxCrossEntropy(), SGD(lr=0.1), X, y, epochs=10, batch_size=32, rng=0,
        progress=False,
    )  # fmt: skip
    assert len(history.loss) == len(history.accuracy) == 10
    assert history.loss[-1] < history.loss[0] / 2
    assert history.accuracy[-1] > 0.9 > before + 0.2  # chance is 0.25
    assert evaluate(model, X, y)["accuracy"] > 0.9


def test_regression_fits_sin_plus_x_when_inputs_are_standardised():
    x = np.linspace(-2 * np.pi, 2 * np.pi, 512).reshape(-1, 1)
    y = np.sin(x) + x
    X = (x - x.mean()) / x.std()
    rng = np.random.default_rng(0)
    model = Sequential(
        [Dense(1, 64, rng=rng), Tanh(), Dense(64, 64, rng=rng), Tanh(), Dense(64, 1, rng=rng)]
    )
    start = time.perf_counter()
    history = fit(
        model, MSELoss(), SGD(lr=0.02, momentum=0.9), X, y, epochs=400, batch_size=64, rng=0,
        progress=False,
    )  # fmt: skip
    mse = evaluate(model, X, y, loss=MSELoss())["loss"]
    assert mse < 1e-3, f"final MSE {mse:.2e} (history ends {history.loss[-3:]})"
    assert history.accuracy == [] and time.perf_counter() - start < 15


def test_nan_loss_stops_training_naming_epoch_and_batch(blobs):
    X, y = blobs()
    model = Sequential([Dense(20, 32, rng=0), ReLU(), Dense(32, 4, rng=1)])
    # No np.errstate here: fit itself must turn overflow into its own error, not a warning.
    with pytest.raises(
        TrainingDiverged, match=r"epoch \d+, batch \d+ \(of 19\).*smaller learning rate"
    ):
        fit(model, SoftmaxCrossEntropy(), SGD(lr=1e6), X * 1e3, y, epochs=5, batch_size=32,
            progress=False)  # fmt: skip


def test_history_records_every_epoch(blobs):
    X, y = blobs(300)
    history = fit(
        Sequential([Dense(20, 4, rng=0)]), SoftmaxCrossEntropy(), SGD(0.05), X, y, epochs=3,
        batch_size=64, validation_data=(X[:100], y[:100]), progress=False,
    )  # fmt: skip
    assert isinstance(history, History)
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "time", "lr"):
        assert len(getattr(history, name)) == 3, name
    assert history.lr == [0.05] * 3
    assert 0 < history.time[0] <= history.time[1] <= history.time[2]
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)


def test_callbacks_are_called_in_order_and_can_change_the_learning_rate(blobs):
    X, y = blobs(100)
    calls = []

    class Recorder:
        def on_train_begin(self, history):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, optimizer):
            optimizer.lr = 0.1 / (epoch + 1)  # what a schedule does
            calls.append(("epoch_begin", epoch))

        def on_batch_begin(self, step, optimizer):
            calls.append(("batch", step))

        def on_epoch_end(self, epoch, history):
            calls.append(("epoch_end", epoch, len(history.loss)))

        def on_train_end(self, history):
            calls.append("train_end")

    history = fit(
        Sequential([Dense(20, 4, rng=0)]), SoftmaxCrossEntropy(), SGD(1.0), X, y, epochs=2,
        batch_size=40, callbacks=[Recorder(), object()], progress=False,
    )  # fmt: skip
    assert calls == [
        "train_begin",
        ("epoch_begin", 0), ("batch", 0), ("batch", 1), ("batch", 2), ("epoch_end", 0, 1),
        ("epoch_begin", 1), ("batch", 3), ("batch", 4), ("batch", 5), ("epoch_end", 1, 2),
        "train_end",
    ]  # fmt: skip
    assert history.lr == [0.1, 0.05]


class BatchSpy:
    """A one-layer model that records the first feature of every batch it sees."""

    def __init__(self):
        self.net = Sequential([Dense(1, 2, rng=0)])
        self.seen = []

    def forward(self, X, training=False):
        if training:
            self.seen.append(X[:, 0].copy())
        return self.net.forward(X, training)

    def __getattr__(self, name):
        return getattr(self.net, name)


def test_minibatches_cover_the_data_and_are_reshuffled_every_epoch():
    X = np.arange(10, dtype=np.float32).reshape(-1, 1)
    y = np.zeros(10, dtype=np.int64)
    spy = BatchSpy()
    fit(spy, SoftmaxCrossEntropy(), SGD(0.01), X, y, epochs=2, batch_size=4, rng=0,
        progress=False)  # fmt: skip
    assert [len(b) for b in spy.seen] == [4, 4, 2, 4, 4, 2]
    first, second = np.concatenate(spy.seen[:3]), np.concatenate(spy.seen[3:])
    assert sorted(first) == sorted(second) == list(range(10))
    assert not np.array_equal(first, second)
    spy = BatchSpy()
    fit(spy, SoftmaxCrossEntropy(), SGD(0.01), X, y, epochs=1, batch_size=4, shuffle=False,
        progress=False)  # fmt: skip
    assert list(np.concatenate(spy.seen)) == list(range(10))


def test_fit_computes_in_the_models_dtype(blobs):
    X, y = blobs(64)
    spy = BatchSpy()
    spy.net = Sequential([Dense(20, 4, rng=0)])
    fit(spy, SoftmaxCrossEntropy(), SGD(0.1), X.astype(np.float64), y, epochs=1,
        batch_size=32, progress=False)  # fmt: skip
    assert spy.seen[0].dtype == np.float32


def test_progress_bar_can_be_silenced(blobs, capsys):
    X, y = blobs(64)
    model = Sequential([Dense(20, 4, rng=0)])
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, batch_size=32, progress=False)
    assert capsys.readouterr().err == ""
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, batch_size=32, progress=True)
    assert "batch" in capsys.readouterr().err  # tqdm writes to stderr


def test_evaluate_returns_accuracy_and_loss():
    model = Sequential([Dense(2, 2, rng=0)])
    model.params["0.W"][...] = np.eye(2)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
    scores = evaluate(model, X, np.array([0, 1, 1]), loss=SoftmaxCrossEntropy())
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["loss"] == pytest.approx(SoftmaxCrossEntropy().forward(X, [0, 1, 1]))
    assert set(evaluate(model, X, np.zeros((3, 2)), loss=MSELoss())) == {"loss"}


def test_history_plot_and_live_plot_run_headless(blobs):
    X, y = blobs(200)
    live = LivePlot(title="blobs")
    history = fit(
        Sequential([Dense(20, 8, rng=0), ReLU(), Dropout(0.2, rng=0), Dense(8, 4, rng=1)]),
        SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=2, batch_size=50,
        validation_data=(X, y), callbacks=[live], progress=False,
    )  # fmt: skip
    fig = history.plot()
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "accuracy (%)"
    assert live.figure is not None and live.figure._suptitle.get_text() == "blobs: epoch 2"
    train_line, val_line = live.figure.axes[0].get_lines()
    assert len(train_line.get_xdata()) == 2 and len(val_line.get_xdata()) == 2
    regression = fit(
        Sequential([Dense(20, 1, rng=0)]), MSELoss(), SGD(0.01), X, y[:, None].astype(float),
        epochs=2, batch_size=50, callbacks=[LivePlot()], progress=False,
    )  # fmt: skip
    assert len(regression.plot().axes) == 1
