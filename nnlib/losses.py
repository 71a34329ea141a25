"""Loss functions: a scalar that says how wrong the outputs are. Introduced in Chapter 2.

Both losses have ``forward(y_hat, y) -> float`` and ``backward() -> dy_hat``, and both
average over the batch exactly as PyTorch's ``mse_loss`` and ``cross_entropy`` do with
their default ``reduction="mean"``, so the numbers match what readers meet next.
"""

import numpy as np

from ._checks import as_real_array
from .activations import log_softmax

__all__ = ["MSELoss", "SoftmaxCrossEntropy"]


def _as_arrays(name, y_hat, y):
    """Outputs must be real floats; array-likes (lists) are accepted."""
    y_hat, y = as_real_array(name, y_hat, "y_hat"), as_real_array(name, y, "y")
    if y_hat.dtype.kind != "f":
        raise ValueError(
            f"{name}: expected the network's outputs as floats, got dtype {y_hat.dtype}"
        )
    return y_hat, y


def _check_batch(name, y_hat, y):
    if y_hat.shape[0] == 0:
        raise ValueError(f"{name}: got an empty batch (N = 0)")
    if y.shape[0] != y_hat.shape[0]:
        raise ValueError(
            f"{name}: y_hat has {y_hat.shape[0]} rows but y has {y.shape[0]}; "
            "they must have the same length N"
        )


class MSELoss:
    """Mean squared error: L = mean((y_hat - y)^2) over *all* elements.

    y_hat and y must have the same shape, e.g. (N, 1) for one output per example.
    Nothing is broadcast: a y of shape (N,) against y_hat of shape (N, 1) is an error,
    because broadcasting would silently compare every output with every target.
    forward(y_hat, y) -> float; backward() -> dL/dy_hat, shape of y_hat.
    Introduced in Chapter 2.
    """

    def forward(self, y_hat, y):
        y_hat, y = _as_arrays("MSELoss", y_hat, y)
        if y.dtype.kind not in "fiu":
            raise ValueError(f"MSELoss: expected real-valued targets y, got dtype {y.dtype}")
        _check_batch("MSELoss", y_hat, y)
        if y_hat.shape != y.shape:
            raise ValueError(
                f"MSELoss: y_hat has shape {y_hat.shape} but y has shape {y.shape}; "
                f"they must match (reshape y to {y_hat.shape}?)"
            )
        self._diff = y_hat - y
        return float(np.mean(self._diff**2))

    def backward(self):
        """dL/dy_hat = 2 (y_hat - y) / (number of elements)."""
        if not hasattr(self, "_diff"):
            raise RuntimeError("MSELoss: backward() called before forward()")
        return (2 / self._diff.size) * self._diff


class SoftmaxCrossEntropy:
    """Softmax followed by cross-entropy, fused. Introduced in Chapter 2.

    forward(logits, y): logits of shape (N, C), y integer labels of shape (N,) in [0, C).
    L = mean over the batch of  -log softmax(logits)[y]  (``log_softmax`` is the stable
    form, Chapter 2). backward() returns dL/dlogits = (softmax(logits) - onehot(y)) / N,
    shape (N, C).
    """

    def forward(self, y_hat, y):
        y_hat, y = _as_arrays("SoftmaxCrossEntropy", y_hat, y)
        if y_hat.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy: expected logits of shape (N, C), got {y_hat.shape}"
            )
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(
                f"SoftmaxCrossEntropy: expected integer labels of shape (N,), got shape "
                f"{y.shape} and dtype {y.dtype}; use y.astype(np.int64) for whole numbers"
            )
        _check_batch("SoftmaxCrossEntropy", y_hat, y)
        N, C = y_hat.shape
        if y.min() < 0 or y.max() >= C:
            raise ValueError(
                f"SoftmaxCrossEntropy: labels must be in [0, {C - 1}] for {C} classes, got "
                f"values from {y.min()} to {y.max()}"
            )
        log_probs = log_softmax(y_hat)
        self._probs, self._y = np.exp(log_probs), y
        return float(-log_probs[np.arange(N), y].mean())

    def backward(self):
        """dL/dlogits = (softmax(logits) - onehot(y)) / N."""
        if not hasattr(self, "_probs"):
            raise RuntimeError("SoftmaxCrossEntropy: backward() called before forward()")
        N = self._y.shape[0]
        dlogits = self._probs.copy()
        dlogits[np.arange(N), self._y] -= 1
        return dlogits / N
