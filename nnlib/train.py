"""The training loop: minibatches, history, evaluation and a live view. Introduced in Chapter 5.

``fit`` repeats, for every minibatch: forward, loss, backward, optimizer step. Everything
else here is bookkeeping a reader would otherwise write again in every chapter.

Callbacks are objects with any of these optional methods, called by ``fit``:
``on_train_begin(history)``, ``on_epoch_begin(epoch, optimizer)``,
``on_batch_begin(step, optimizer)`` (step counts batches over the whole run, from 0),
``on_epoch_end(epoch, history)`` and ``on_train_end(history)``. A callback that sets its
attribute ``stop_training`` to True ends the run after the current epoch. Learning-rate
schedules (``nnlib.schedules``), ``LivePlot`` and ``EarlyStopping`` are callbacks.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import _engine
from ._checks import as_rng, check_size, is_number
from .losses import SoftmaxCrossEntropy
from .network import check_finite

__all__ = [
    "History",
    "TrainingDiverged",
    "train_step",
    "fit",
    "evaluate",
    "LivePlot",
    "EarlyStopping",
]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite: the learning rate is almost always too large.

    Introduced in Chapter 5.
    """


@dataclass
class History:
    """Per-epoch records of a ``fit`` run. Introduced in Chapter 5.

    Lists with one float per epoch: ``loss`` (mean training loss), ``accuracy`` and
    ``val_accuracy`` (fractions in [0, 1], classification only), ``val_loss``, ``time``
    (cumulative wall-clock seconds at the end of each epoch) and ``lr``. ``interrupted``
    is True when Ctrl-C stopped the run: the lists then hold the epochs that finished.
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    time: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    interrupted: bool = False

    def plot(self, axes=None, label=None):
        """Loss (and accuracy, if recorded) against epoch. Returns the matplotlib figure.

        axes: optional matplotlib Axes, or a sequence of one or two, to draw into (e.g. to
        overlay several runs, each with its ``label``); one Axes shows the loss alone. By
        default a new figure is made.
        """
        n_panels = 2 if self.accuracy else 1
        if axes is not None and not isinstance(axes, (list, tuple, np.ndarray)):
            axes = [axes]  # a single Axes
        if axes is None:
            import matplotlib.pyplot as plt

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
        for ax in axes[:n_panels]:
            ax.legend()
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def _check_data(X, y, what="fit"):
    """X: (N, ...), y: (N, ...) -> both as arrays, after the checks every caller needs."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"{what}: X is empty (shape {X.shape}); expected at least one example")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{what}: X has {X.shape[0]} examples but y has shape {y.shape}; "
            "they must have the same length N"
        )
    return X, y


def _check_roles(model, loss, optimizer, callbacks):
    """The model, the loss and the optimizer have the methods fit calls; callbacks is a list."""
    for role, thing, methods, example in [
        ("model", model, ("forward", "backward", "predict"), "Sequential([...])"),
        ("loss", loss, ("forward", "backward"), "SoftmaxCrossEntropy()"),
        ("optimizer", optimizer, ("step",), "SGD(lr=0.1)"),
    ]:
        if not all(callable(getattr(thing, m, None)) for m in methods):
            raise TypeError(
                f"fit: the {role} must have the methods {', '.join(methods)} (such as "
                f"{example}), got {thing!r}"
            )
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"fit: callbacks must be a list, such as [LivePlot()], got {callbacks!r}")


def _call(callbacks, method, *args):
    for cb in callbacks:
        hook = getattr(cb, method, None)
        if hook is not None:
            hook(*args)


def _as_model_dtype(a, dtype, what, name):
    """Convert X (or float targets y) once to the parameters' dtype, then check it.

    The check comes after the conversion: a float64 1e39 is finite, but inf in float32.
    """
    if dtype is not None and a.dtype.kind in ("fiub" if name == "X" else "f") and a.dtype != dtype:
        with np.errstate(over="ignore"):
            a = a.astype(dtype)
    check_finite(what, f"{name} (as {a.dtype})" if dtype is not None else name, a)
    return a


def _model_dtype(model):
    """The dtype of the model's parameters, or None for a model without any."""
    dtypes = {p.dtype for p in getattr(model, "params", {}).values()}
    return dtypes.pop() if len(dtypes) == 1 else None


def _check_labels(model, X, y, what="fit"):
    """Integer labels in [0, C), where C is the width of the model's output."""
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(
            f"{what}: classification labels must be integers of shape (N,), got shape "
            f"{y.shape} and dtype {y.dtype}; use y.astype(np.int64) for whole numbers"
        )
    try:
        C = model.forward(X[:1]).shape[-1]  # one example tells the number of classes
    except ValueError as error:
        raise ValueError(f"{what}: X of shape {X.shape} does not fit the model: {error}") from None
    low, high = y.min(), y.max()
    if low < 0 or high >= C:
        raise ValueError(
            f"{what}: labels must be in [0, {C - 1}] for the model's {C} outputs, got values "
            f"from {low} to {high}"
        )


def train_step(model, loss, optimizer, X, y):
    """One step of minibatch gradient descent on the batch (X, y). Introduced in Chapter 5.

    Forward, loss, backward, update: returns (the loss, the model's output). Raises
    TrainingDiverged, before anything is updated, if the loss is NaN or infinite.
    """
    out = model.forward(X, training=True)
    value = loss.forward(out, y)
    if not math.isfinite(value):
        raise TrainingDiverged(f"the loss became {value}")
    model.backward(loss.backward())
    optimizer.step(model.params, model.grads)
    return value, out


def evaluate(model, X, y, *, loss=None, batch_size=1000):
    """Accuracy (for integer labels) and, if ``loss`` is given, its mean over X.

    Introduced in Chapter 5. X: (N, ...); y: (N,) integer labels, or, with a loss such as
    ``MSELoss()``, targets shaped like the model's output. Returns a dict: {"accuracy":
    float in [0, 1]} (labels, with ``SoftmaxCrossEntropy`` or no loss) and {"loss":
    float} (when ``loss`` is given). The data get ``fit``'s checks.
    """
    X, y = _check_data(X, y, "evaluate")
    dtype = _model_dtype(model)
    X = _as_model_dtype(X, dtype, "evaluate", "X")
    classify = loss is None or isinstance(loss, SoftmaxCrossEntropy)
    if loss is None and (y.ndim != 1 or y.dtype.kind not in "iu"):
        raise ValueError(
            "evaluate: without a loss it computes the accuracy, for integer labels of shape "
            f"(N,); got y of shape {y.shape} and dtype {y.dtype}. For targets, pass a loss "
            "such as loss=MSELoss()"
        )
    if classify:
        _check_labels(model, X, y, "evaluate")
    else:
        y = _as_model_dtype(y, dtype, "evaluate", "y")
    out = model.predict(X, batch_size=batch_size)
    result = {}
    if loss is not None:
        result["loss"] = loss.forward(out, y)
    if classify:
        result["accuracy"] = float(np.mean(out.argmax(axis=1) == y))
    return result


def _batches(X, y, batch_size, order, xbuf, ybuf):
    """Yield one epoch's minibatches (xb, yb): rows in ``order``, or as stored if None.

    Shuffled rows are copied into the same small buffers xbuf, ybuf every time: they stay
    in the processor's cache, where the first layer reads them next. mode="clip": a
    permutation's indices are all valid, and without the bounds check ``take`` writes
    straight into the buffer instead of through a temporary copy.
    """
    for start in range(0, len(X), batch_size):
        rows = slice(start, start + batch_size)
        if order is None:
            yield X[rows], y[rows]
            continue
        idx = order[rows]
        xb, yb = xbuf[: len(idx)], ybuf[: len(idx)]
        X.take(idx, axis=0, out=xb, mode="clip")
        y.take(idx, axis=0, out=yb, mode="clip")
        yield xb, yb


def _stop_after_interrupt(history, epochs_done):
    """After Ctrl-C: keep the whole epochs in ``history`` and say what the model holds."""
    for records in (history.loss, history.accuracy, history.val_loss, history.val_accuracy,
                    history.time, history.lr):  # fmt: skip
        del records[epochs_done:]  # an epoch cut short has some of its records, not all
    history.interrupted = True
    print(
        f"fit: stopped by Ctrl-C in epoch {epochs_done + 1}. The parameters and the "
        "optimizer's state are those after the last whole step; the history holds the "
        f"{epochs_done} epochs completed."
    )


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
    augment=None,
    progress=True,
):
    """Train ``model`` on (X, y) with minibatch gradient descent; return a ``History``.

    Args:
        model: a ``Sequential`` (anything with forward/backward/params/grads/predict).
            X (and float targets y) are converted once to the dtype of its parameters
            (float32 by default), so no batch is computed in a wider type by accident.
        loss: ``SoftmaxCrossEntropy()`` or ``MSELoss()``.
        optimizer: anything with ``step(params, grads)``, e.g. ``nnlib.optim.SGD(lr=0.1)``.
        X: inputs of shape (N, ...); y: targets, N of them: integer labels (N,) for
            ``SoftmaxCrossEntropy``, an array shaped like the model's output for ``MSELoss``.
        epochs, batch_size: passes over the data, and examples per step.
        validation_data: optional (X_val, y_val), evaluated after every epoch.
        shuffle: reshuffle the examples before every epoch (seeded by ``rng``).
        callbacks: objects with the hooks listed in the module docstring.
        augment: optional function ``augment(X_batch, rng) -> X_batch`` applied to every
            training batch before the step (same shape out as in), e.g.
            ``lambda X, rng: nnlib.data.random_shift(X, 2, rng)`` (Chapter 8). It gets
            ``fit``'s random generator. Validation data is never augmented.
        progress: show a tqdm progress bar (works in Jupyter, Colab and a terminal).
    Returns:
        History with one entry per epoch in each of its lists.

    Ctrl-C (or the stop button of Jupyter and Colab) stops training cleanly: the step under
    way finishes, so every parameter and the optimizer's state agree, and ``fit`` returns
    the history of the epochs completed so far (``history.interrupted`` is then True).
    Raises:
        ValueError: bad data (empty, NaN, lengths or labels that do not fit).
        TrainingDiverged: the loss became NaN or inf; says at which epoch and batch.

    Introduced in Chapter 5.
    """
    _check_roles(model, loss, optimizer, callbacks)
    if augment is not None and not callable(augment):
        raise TypeError(
            f"fit: augment must be a function augment(X_batch, rng) -> X_batch, got {augment!r}"
        )
    X, y = _check_data(X, y)
    check_size("fit", epochs=epochs, batch_size=batch_size)
    dtype = _model_dtype(model)
    X = _as_model_dtype(X, dtype, "fit", "X")
    classify = isinstance(loss, SoftmaxCrossEntropy)
    if classify:
        _check_labels(model, X, y)
    y = _as_model_dtype(y, dtype, "fit", "y")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            size = (
                f" of length {len(validation_data)}" if hasattr(validation_data, "__len__") else ""
            )
            raise ValueError(
                "fit: validation_data must be a pair (X_val, y_val), got "
                f"{type(validation_data).__name__}{size}"
            )
        X_val, y_val = _check_data(*validation_data, "fit (validation_data)")
        X_val = _as_model_dtype(X_val, dtype, "fit (validation_data)", "X")
        if classify:
            _check_labels(model, X_val, y_val, "fit (validation_data)")
        y_val = _as_model_dtype(y_val, dtype, "fit (validation_data)", "y")
        validation_data = X_val, y_val
    rng = as_rng("fit", rng)
    # The engine (nnlib._engine) runs the same step faster; nnlib.set_engine(False) turns
    # it off, and train_step (above) runs as written.
    step_fn = _engine.train_step if _engine.engine_enabled() else train_step
    history = History()
    N = X.shape[0]
    n_batches = math.ceil(N / batch_size)
    # Shuffled batches are copied into these two small buffers, used again by every batch
    # (see _batches); without shuffling, batches are plain slices of X and y.
    xbuf, ybuf = np.empty_like(X[:batch_size]), np.empty_like(y[:batch_size])
    step = 0
    start = time.perf_counter()
    _call(callbacks, "on_train_begin", history)
    # Overflow is not warned about batch by batch: a loss that becomes inf or NaN stops the
    # run below with an error that says where and what to try.
    epochs_done, interrupted = 0, False
    with (
        tqdm(total=epochs * n_batches, disable=not progress, unit="batch", leave=False) as bar,
        np.errstate(over="ignore", invalid="ignore"),
    ):
        try:
            for epoch in range(epochs):
                _call(callbacks, "on_epoch_begin", epoch, optimizer)
                order = rng.permutation(N) if shuffle else None
                total, correct = 0.0, 0
                batches = _batches(X, y, batch_size, order, xbuf, ybuf)
                for b, (xb, yb) in enumerate(batches):
                    _call(callbacks, "on_batch_begin", step, optimizer)
                    if augment is not None:
                        xb = _augmented(augment, xb, rng)
                    try:
                        value, out = step_fn(model, loss, optimizer, xb, yb)
                    except TrainingDiverged as error:
                        raise TrainingDiverged(
                            f"fit: {error} at epoch {epoch + 1}, batch {b + 1} (of {n_batches}); "
                            f"try a smaller learning rate (now {getattr(optimizer, 'lr', '?')}) "
                            "or standardise the inputs"
                        ) from None
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
                epochs_done = epoch + 1
                bar.set_postfix(epoch=epoch + 1, loss=f"{history.loss[-1]:.4f}")
                _call(callbacks, "on_epoch_end", epoch, history)
                if any(getattr(cb, "stop_training", False) for cb in callbacks):
                    break  # a callback, such as EarlyStopping, ended the run
        except KeyboardInterrupt:  # Ctrl-C: stop here (the step itself ran whole)
            interrupted = True
    if interrupted:
        _stop_after_interrupt(history, epochs_done)
    _call(callbacks, "on_train_end", history)
    return history


def _augmented(augment, xb, rng):
    """The batch after ``augment``, which must keep its shape (and gets the model's dtype)."""
    out = np.asarray(augment(xb, rng))
    if out.shape != xb.shape:
        raise ValueError(
            f"fit: augment must return a batch of the shape it was given, {xb.shape}; "
            f"got {out.shape}"
        )
    return out.astype(xb.dtype, copy=False)


class LivePlot:
    """A callback that redraws the loss and accuracy curves after every epoch.

    Introduced in Chapter 5. ``fit(..., callbacks=[LivePlot()])``. In Jupyter and Colab
    one image is shown and replaced in place after each epoch (an IPython display handle,
    so a progress bar in the same cell is left alone); the rendered book keeps the last
    frame. Outside a notebook the curves are still drawn into ``self.figure`` (a
    matplotlib Figure not attached to any window) but nothing is shown.
    """

    def __init__(self, title="Training"):
        self.title = title
        self.figure = None
        self._handle = None

    @staticmethod
    def _in_notebook():
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        return shell is not None and hasattr(shell, "kernel")

    def _image(self):
        from io import BytesIO

        from IPython.display import Image

        buffer = BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return Image(data=buffer.getvalue(), format="png")

    def on_train_begin(self, history):
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(10, 3.5))
        self._axes = self.figure.subplots(1, 2)
        self._handle = None
        if self._in_notebook():
            from IPython.display import display

            self._handle = display(display_id=True)  # an empty slot, filled every epoch

    def on_epoch_end(self, epoch, history):
        for ax in self._axes:
            ax.clear()
        history.plot(axes=self._axes)
        if not history.accuracy:
            self._axes[1].set_axis_off()
        self.figure.suptitle(f"{self.title}: epoch {epoch + 1}")
        self.figure.tight_layout()
        if self._handle is not None:
            self._handle.update(self._image())


class EarlyStopping:
    """A callback that stops ``fit`` when a validation metric stops improving, and puts
    back the parameters of its best epoch. Introduced in Chapter 8.

    Args:
        model: the network being trained (its parameters are copied and restored).
        monitor: the ``History`` list to watch: "val_loss" (lower is better) or
            "val_accuracy" (higher is better); "loss" and "accuracy" also work, but
            watching the training data defeats the purpose.
        patience: epochs without improvement after which training stops.
        min_delta: a change smaller than this does not count as an improvement.
        restore_best: at the end of training, copy the best epoch's parameters (and
            buffers, such as batch normalisation's running statistics) back into the model.

    After ``fit`` returns: ``best_epoch`` (index into the History lists, 0 = the first
    epoch), ``best`` (the metric there) and ``stopped_epoch`` (the epoch after which the
    callback asked ``fit`` to stop, or None if it never asked; a stop asked after the last
    epoch still counts, though every epoch was trained).
    """

    def __init__(self, model, monitor="val_loss", *, patience=5, min_delta=0.0,
                 restore_best=True):  # fmt: skip
        if monitor not in ("val_loss", "val_accuracy", "loss", "accuracy"):
            raise ValueError(
                "EarlyStopping: monitor must be 'val_loss', 'val_accuracy', 'loss' or "
                f"'accuracy', got {monitor!r}"
            )
        check_size("EarlyStopping", patience=patience)
        if not is_number(min_delta) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        self.model, self.monitor, self.patience = model, monitor, patience
        self.min_delta, self.restore_best = min_delta, restore_best
        self.sign = -1 if monitor.endswith("loss") else 1  # sign * metric: higher is better

    def on_train_begin(self, history):
        self.best, self.best_epoch, self.stopped_epoch = None, None, None
        self.stop_training, self._best_state = False, None

    def on_epoch_end(self, epoch, history):
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"EarlyStopping: History.{self.monitor} is empty; pass "
                "validation_data=(X_val, y_val) to fit (and integer labels for accuracy)"
            )
        value = values[-1]
        if self.best is None or self.sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch = value, epoch
            state = {**self.model.params, **getattr(self.model, "buffers", {})}
            self._best_state = {key: a.copy() for key, a in state.items()}
        elif epoch - self.best_epoch >= self.patience:
            self.stop_training, self.stopped_epoch = True, epoch

    def on_train_end(self, history):
        if self.restore_best and self._best_state is not None:
            state = {**self.model.params, **getattr(self.model, "buffers", {})}
            for key, a in state.items():
                a[...] = self._best_state[key]
