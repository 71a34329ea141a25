"""Loss functions: a scalar that says how wrong the outputs are. Introduced in Chapter 2.

Both losses have ``forward(y_hat, y) -> float`` and ``backward() -> dy_hat``, and both
average over the batch exactly as PyTorch's ``mse_loss`` and ``cross_entropy`` do with
their default ``reduction="mean"``, so the numbers match what readers meet next.
"""

import numpy as np

__all__ = ["MSELoss", "SoftmaxCrossEntropy"]


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
        y = np.asarray(y)
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
        return (2 / self._diff.size) * self._diff


class SoftmaxCrossEntropy:
    """Softmax followed by cross-entropy, fused. Introduced in Chapter 2.

    forward(logits, y): logits of shape (N, C), y integer labels of shape (N,) in [0, C).
    L = mean over the batch of  -log softmax(logits)[y]
      = mean of  logsumexp(logits_i) - logits_i[y_i],
    computed after subtracting each row's maximum, so logits in the thousands are fine.
    backward() returns dL/dlogits = (softmax(logits) - onehot(y)) / N, shape (N, C).
    """

    _EXP_FLOOR = -80.0

    def forward(self, y_hat, y):
        y = np.asarray(y)
        if y_hat.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy: expected logits of shape (N, C), got {y_hat.shape}"
            )
        if y.ndim != 1:
            raise ValueError(
                f"SoftmaxCrossEntropy: expected integer labels of shape (N,), got {y.shape}"
            )
        _check_batch("SoftmaxCrossEntropy", y_hat, y)
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"SoftmaxCrossEntropy: labels must be integers (class indices), got dtype "
                f"{y.dtype}; use y.astype(np.int64) if they are whole numbers"
            )
        N, C = y_hat.shape
        # The reductions call NumPy's ufuncs directly (np.add.reduce is what .sum() runs
        # after a layer of Python): in a training loop this code runs right after large
        # matrix products, with the interpreter's own code pushed out of the cache, and
        # each layer of Python then costs microseconds (the speed page measures it).
        if np.minimum.reduce(y) < 0 or np.maximum.reduce(y) >= C:
            raise ValueError(
                f"SoftmaxCrossEntropy: labels must be in [0, {C - 1}] for {C} classes, got "
                f"values from {y.min()} to {y.max()}"
            )
        shifted = y_hat - np.maximum.reduce(y_hat, axis=1, keepdims=True)
        picked = shifted[np.arange(N), y]  # the true class's shifted logit
        # exp(-80) ~ 1.8e-35 is the smallest probability we keep. Below about exp(-87),
        # float32 turns into "denormal" numbers, which x86 processors handle up to a
        # hundred times more slowly, and a confident network makes plenty of them. The
        # clamp changes the loss and its gradient by less than 1e-33.
        np.maximum(shifted, self._EXP_FLOOR, out=shifted)
        exp = np.exp(shifted, out=shifted)
        sums = np.add.reduce(exp, axis=1, keepdims=True)
        loss = np.add.reduce(np.log(sums[:, 0]) - picked) / N  # the mean over the batch
        exp /= sums  # now the softmax probabilities, kept for backward
        self._probs, self._y = exp, y
        return float(loss)

    def backward(self):
        """dL/dlogits = (softmax(logits) - onehot(y)) / N."""
        dlogits = self._probs.copy()
        dlogits[np.arange(self._y.shape[0]), self._y] -= 1
        dlogits /= self._y.shape[0]
        return dlogits
