"""Holding data out: a validation set taken from the training data. Introduced in Chapter 5.

Every choice a chapter makes from Chapter 5 on (a learning rate, a number of epochs, a
dropout rate, an optimizer) is made on a *validation* set cut from the training data. The
test set is evaluated once, at the end, to report how the chosen model does on data that
played no part in any choice.
"""

import numpy as np

__all__ = ["validation_split"]


def validation_split(X, y, n_val, *, rng=None):
    """Split (X, y) at random into a training part and ``n_val`` held-out examples.

    X: (N, ...), y: (N, ...), with the same N; n_val: 1 <= n_val < N; rng: seed or
    ``numpy.random.Generator``. Returns ``(X_train, y_train, X_val, y_val)``, new arrays,
    with N - n_val and n_val examples. Introduced in Chapter 5.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"validation_split: X and y must hold the same number of examples, got shapes "
            f"{X.shape} and {y.shape}"
        )
    if not 1 <= n_val < len(X):
        raise ValueError(
            f"validation_split: n_val must be between 1 and N - 1 = {len(X) - 1}, got {n_val}"
        )
    order = np.random.default_rng(rng).permutation(len(X))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
