"""The training loop: minibatches, history, evaluation and a live view. Introduced in Chapter 5.

``fit`` repeats, for every minibatch: forward, loss, backward, optimizer step. Everything
else here is bookkeeping a reader would otherwise write again in every chapter.

Callbacks are objects with any of these optional methods, called by ``fit``:
``on_train_begin(history)``, ``on_epoch_begin(epoch, optimizer)``,
``on_batch_begin(step, optimizer)`` (step counts batches over the whole run, from 0),
``on_epoch_end(epoch, history)`` and ``on_train_end(history)``. Learning-rate schedules
(``nnlib.schedules``) and ``LivePlot`` are callbacks.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .losses import SoftmaxCrossEntropy

__all__ = ["History", "TrainingDiverged", "fit", "evaluate", "LivePlot"]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite: the learning rate is almost always too large."""


@dataclass
class History:
    """Per-epoch records of a ``fit`` run. ``time`` is cumulative wall-clock seconds."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    time: list = field(default_factory=list)
    lr: list = field(default_factory=list)

    def plot(self, axes=None, label=None):
        """Loss (and accuracy, if recorded) against epoch. Returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        n_panels = 2 if self.accuracy else 1
        if axes is None:
            fig, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 3.5), squeeze=False)
            axes = axes[0]
        fig = axes[0].figure
        epochs = np.arange(1, len(self.loss) + 1)
        prefix = f"{label} " if label else ""
        axes[0].plot(epochs, self.loss, "o-", label=prefix + "train")
        if self.val_loss:
            axes[0].plot(epochs, self.val_loss, "s--", label=prefix + "validation")
        axes[0].set(xlabel="epoch", ylabel="loss", title="Loss")
        if n_panels == 2 and len(axes) > 1:
            axes[1].plot(epochs, 100 * np.asarray(self.accuracy), "o-", label=prefix + "train")
            if self.val_accuracy:
                axes[1].plot(
                    epochs, 100 * np.asarray(self.val_accuracy), "s--", label=prefix + "validation"
                )
            axes[1].set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        for ax in axes:
            ax.legend()
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def _check_data(X, y, what="fit"):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"{what}: X is empty (shape {X.shape}); expected at least one example")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{what}: X has {X.shape[0]} examples but y has shape {y.shape}; "
            "they must have the same length N"
        )
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"{what}: X (shape {X.shape}) contains NaN or inf values")
    return X, y


def _call(callbacks, method, *args):
    for cb in callbacks:
        hook = getattr(cb, method, None)
        if hook is not None:
            hook(*args)


def evaluate(model, X, y, *, loss=None, batch_size=1000):
    """Accuracy (for integer labels) and, if ``loss`` is given, its mean over X.

    Returns a dict: {"accuracy": float in [0, 1]} and/or {"loss": float}.
    """
    X, y = _check_data(X, y, "evaluate")
    out = model.predict(X, batch_size=batch_size)
    result = {}
    if loss is not None:
        result["loss"] = loss.forward(out, y)
    if y.ndim == 1 and y.dtype.kind in "iu" and out.ndim == 2:
        result["accuracy"] = float(np.mean(out.argmax(axis=1) == y))
    return result


def fit(
    model,
    loss,
    optimizer,
    X,
    y,
    *,
    epochs,
    batch_size,
    validation_data=None,
    shuffle=True,
    rng=None,
    callbacks=(),
    progress=True,
):
    """Train ``model`` on (X, y) with minibatch gradient descent; return a ``History``.

    Args:
        model: a ``Sequential`` (anything with forward/backward/params/grads/predict).
        loss: ``SoftmaxCrossEntropy()`` or ``MSELoss()``.
        optimizer: anything with ``step(params, grads)``, e.g. ``nnlib.optim.SGD(lr=0.1)``.
        X: inputs of shape (N, ...); y: targets, N of them.
        epochs, batch_size: passes over the data, and examples per step.
        validation_data: optional (X_val, y_val), evaluated after every epoch.
        shuffle: reshuffle the examples before every epoch (seeded by ``rng``).
        callbacks: objects with the hooks listed in the module docstring.
        progress: show a tqdm progress bar (works in Jupyter, Colab and a terminal).
    Raises:
        TrainingDiverged: the loss became NaN or inf; says at which epoch and batch.
    """
    X, y = _check_data(X, y)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit: epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    rng = np.random.default_rng(rng)
    classify = isinstance(loss, SoftmaxCrossEntropy)
    history = History()
    N = X.shape[0]
    n_batches = math.ceil(N / batch_size)
    step = 0
    start = time.perf_counter()
    _call(callbacks, "on_train_begin", history)
    with tqdm(total=epochs * n_batches, disable=not progress, unit="batch", leave=False) as bar:
        for epoch in range(epochs):
            _call(callbacks, "on_epoch_begin", epoch, optimizer)
            if shuffle:
                order = rng.permutation(N)
                Xs, ys = X[order], y[order]  # one gather per epoch; batches are then slices
            else:
                Xs, ys = X, y
            total, correct = 0.0, 0
            for b in range(n_batches):
                _call(callbacks, "on_batch_begin", step, optimizer)
                xb, yb = (
                    Xs[b * batch_size : (b + 1) * batch_size],
                    ys[b * batch_size : (b + 1) * batch_size],
                )
                out = model.forward(xb, training=True)
                value = loss.forward(out, yb)
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"fit: the loss became {value} at epoch {epoch + 1}, batch {b + 1} "
                        f"(of {n_batches}); try a smaller learning rate (now "
                        f"{getattr(optimizer, 'lr', '?')}) or standardise the inputs"
                    )
                model.backward(loss.backward())
                optimizer.step(model.params(), model.grads())
                total += value * len(xb)
                if classify:
                    correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
                step += 1
                bar.update()
            history.loss.append(total / N)
            if classify:
                history.accuracy.append(correct / N)
            history.lr.append(getattr(optimizer, "lr", float("nan")))
            if validation_data is not None:
                scores = evaluate(model, *validation_data, loss=loss)
                history.val_loss.append(scores["loss"])
                if "accuracy" in scores:
                    history.val_accuracy.append(scores["accuracy"])
            history.time.append(time.perf_counter() - start)
            bar.set_postfix(epoch=epoch + 1, loss=f"{history.loss[-1]:.4f}")
            _call(callbacks, "on_epoch_end", epoch, history)
    _call(callbacks, "on_train_end", history)
    return history


class LivePlot:
    """A callback that redraws the loss and accuracy curves after every epoch.

    In Jupyter and Colab the figure updates in place as training runs; the rendered book
    shows its last frame. Outside a notebook it draws nothing. Introduced in Chapter 5.
    """

    def __init__(self, title="Training"):
        self.title = title
        self._handle = None
        self._fig = None

    def on_train_begin(self, history):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        import matplotlib.pyplot as plt

        self._fig, self._axes = plt.subplots(1, 2, figsize=(10, 3.5))
        self._fig.suptitle(self.title)
        self._handle = display(self._fig, display_id=True)

    def on_epoch_end(self, epoch, history):
        if self._handle is None:
            return
        for ax in self._axes:
            ax.clear()
        history.plot(axes=self._axes)
        self._fig.suptitle(f"{self.title}: epoch {epoch + 1}")
        self._handle.update(self._fig)

    def on_train_end(self, history):
        if self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)  # the display handle keeps the last frame
