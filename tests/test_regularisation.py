"""Chapter 8's tools against overfitting: early stopping, and augmentation by random shifts."""

import numpy as np
import pytest

from nnlib.data import random_shift
from nnlib.layers import BatchNorm1d, Dense, ReLU
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD
from nnlib.train import EarlyStopping, History, fit

# --- EarlyStopping ------------------------------------------------------------------------


class Scripted:
    """A callback that makes the validation metric follow a script, epoch by epoch, and
    records a copy of the parameters after every epoch (run before EarlyStopping)."""

    def __init__(self, model, values, monitor="val_loss"):
        self.model, self.values, self.monitor = model, values, monitor
        self.params_after = []

    def on_epoch_end(self, epoch, history):
        getattr(history, self.monitor)[-1] = self.values[epoch]
        self.params_after.append({k: v.copy() for k, v in self.model.params.items()})


def small_problem(blobs):
    X, y = blobs(n=200)
    model = Sequential([Dense(20, 16, rng=0), BatchNorm1d(16), ReLU(), Dense(16, 4, rng=1)])
    return model, X, y


@pytest.mark.parametrize(
    "monitor, values, best, stopped",
    [
        ("val_loss", [5, 4, 3, 3.5, 3.2, 2.9, 3, 3, 3, 3], 5, 8),
        ("val_loss", [5, 4, 3, 3.5, 3.2, 3.1, 3.0, 3, 3, 3], 2, 5),
        ("val_accuracy", [0.1, 0.5, 0.4, 0.45, 0.49, 0.3, 0.6, 0.2, 0.2, 0.2], 1, 4),
        ("val_loss", [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 9, None),
    ],
)
def test_early_stopping_stops_after_patience_and_restores_the_best(
    blobs, monitor, values, best, stopped
):
    model, X, y = small_problem(blobs)
    script = Scripted(model, values, monitor)
    stop = EarlyStopping(model, monitor, patience=3)
    history = fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=10, batch_size=50,
                  validation_data=(X, y), callbacks=[script, stop], progress=False)  # fmt: skip
    assert stop.best_epoch == best and stop.best == values[best]
    assert stop.stopped_epoch == stopped
    assert len(history.loss) == (10 if stopped is None else stopped + 1)
    for key, value in model.params.items():
        np.testing.assert_array_equal(value, script.params_after[best][key], err_msg=key)


def test_early_stopping_restores_buffers_and_can_keep_the_last_weights(blobs):
    model, X, y = small_problem(blobs)

    class Snapshot:
        def on_epoch_end(self, epoch, history):
            history.val_loss[-1] = [1, 2, 3, 4][epoch]
            if epoch == 0:
                self.buffers = {k: v.copy() for k, v in model.buffers.items()}

    snap = Snapshot()
    stop = EarlyStopping(model, patience=2)
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=4, batch_size=50,
        validation_data=(X, y), callbacks=[snap, stop], progress=False)  # fmt: skip
    for key, value in model.buffers.items():
        np.testing.assert_array_equal(value, snap.buffers[key], err_msg=key)
    # restore_best=False: the weights of the last epoch stay.
    keep = EarlyStopping(model, patience=1, restore_best=False)
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=4, batch_size=50,
        validation_data=(X, y), callbacks=[Snapshot(), keep], progress=False)  # fmt: skip
    assert keep.stopped_epoch == 1
    assert not np.array_equal(model.buffers["1.running_mean"], snap.buffers["1.running_mean"])


def test_min_delta_and_reuse(blobs):
    model, X, y = small_problem(blobs)
    stop = EarlyStopping(model, patience=2, min_delta=0.5)
    for _ in range(2):  # a second fit starts afresh
        fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=6, batch_size=50,
            validation_data=(X, y), callbacks=[Scripted(model, [3, 2.9, 2.8, 2.0, 1.9, 1.8]), stop],
            progress=False)  # fmt: skip
        assert (stop.best_epoch, stop.stopped_epoch) == (0, 2)


def test_early_stopping_errors(blobs):
    model, X, y = small_problem(blobs)
    with pytest.raises(ValueError, match="monitor must be 'val_loss', 'val_accuracy'"):
        EarlyStopping(model, "val_acc")
    with pytest.raises(ValueError, match="patience must be an integer >= 1, got 0"):
        EarlyStopping(model, patience=0)
    with pytest.raises(ValueError, match="min_delta must be a number >= 0"):
        EarlyStopping(model, min_delta=-1)
    with pytest.raises(ValueError, match=r"History.val_loss is empty; pass validation_data"):
        fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=2, batch_size=50,
            callbacks=[EarlyStopping(model)], progress=False)  # fmt: skip


def test_a_callback_can_stop_training_after_any_epoch(blobs):
    model, X, y = small_problem(blobs)

    class StopAtTwo:
        stop_training = False

        def on_epoch_end(self, epoch, history):
            self.stop_training = epoch == 1

    history = fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=5, batch_size=50,
                  callbacks=[StopAtTwo()], progress=False)  # fmt: skip
    assert len(history.loss) == 2 and isinstance(history, History)


# --- Augmentation ---------------------------------------------------------------------------


def shifted(image, dy, dx):
    """image (..., H, W) by the definition: out[..., i, j] = image[..., i - dy, j - dx]."""
    H, W = image.shape[-2:]
    out = np.zeros_like(image)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[..., i, j] = image[..., i - dy, j - dx]
    return out


@pytest.mark.parametrize("shape", [(200, 6, 7), (150, 3, 5, 5)])
def test_random_shift_moves_each_image_by_a_shift_in_range(shape):
    X = np.random.default_rng(0).random(shape, dtype=np.float32) + 0.5  # no zeros inside
    out = random_shift(X, 2, rng=1)
    assert out.shape == X.shape and out.dtype == X.dtype
    seen = set()
    for image, moved in zip(X, out):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(moved, shifted(image, dy, dx))]  # fmt: skip
        assert len(matches) == 1, "not a shift by at most 2 pixels"
        seen.add(matches[0])
    assert len(seen) == 25  # every shift in range turns up
    np.testing.assert_array_equal(random_shift(X, 2, rng=1), out)  # seeded: the same
    assert not np.array_equal(random_shift(X, 2, rng=2), out)
    assert np.all(out.sum(axis=(-2, -1)) <= X.sum(axis=(-2, -1)) + 1e-3)  # pixels only leave


def test_random_shift_by_zero_is_a_copy():
    X = np.random.default_rng(0).random((4, 5, 5))
    out = random_shift(X, 0, rng=0)
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_random_shift_errors():
    with pytest.raises(ValueError, match=r"expected images \(N, H, W\) or \(N, C, H, W\)"):
        random_shift(np.zeros((3, 4)), 1)
    for bad in (-1, 5, 1.5, True):
        with pytest.raises(ValueError, match="max_shift must be an integer from 0 to 4"):
            random_shift(np.zeros((3, 5, 6)), bad)


def test_fit_augments_every_training_batch_and_never_the_validation_data(blobs):
    X, y = blobs(n=96)
    seen = []

    def augment(xb, rng):
        seen.append(xb.copy())
        return xb + rng.standard_normal(xb.shape)

    model = Sequential([Dense(20, 4, rng=0)])
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=2, batch_size=32,
        validation_data=(X[:10], y[:10]), augment=augment, rng=0, progress=False)  # fmt: skip
    assert len(seen) == 6 and all(b.shape == (32, 20) for b in seen)
    # Augmenting with the identity changes nothing.
    runs = []
    for aug in (None, lambda xb, rng: xb):
        model = Sequential([Dense(20, 4, rng=0)])
        runs.append(fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=2, batch_size=32,
                        augment=aug, rng=0, progress=False).loss)  # fmt: skip
    assert runs[0] == runs[1]


def test_fit_with_random_shifts_of_images():
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 6, 6), dtype=np.float32), rng.integers(0, 2, 64)
    model = Sequential([Dense(36, 2, rng=0)])
    history = fit(model, SoftmaxCrossEntropy(), SGD(0.1), X.reshape(64, 36), y, epochs=1,
                  batch_size=16, augment=lambda xb, r: random_shift(xb.reshape(-1, 6, 6), 1,
                                                                     r).reshape(-1, 36),
                  progress=False)  # fmt: skip
    assert len(history.loss) == 1


def test_augment_must_keep_the_shape(blobs):
    X, y = blobs(n=40)
    with pytest.raises(ValueError, match=r"augment must return a batch of the shape it was given"):
        fit(Sequential([Dense(20, 4)]), MSELoss(), SGD(0.1), X, np.zeros((40, 4), np.float32),
            epochs=1, batch_size=8, augment=lambda xb, rng: xb[:-1], progress=False)  # fmt: skip
