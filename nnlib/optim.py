"""Optimizers: rules that turn gradients into parameter updates.

Introduced in Chapter 2 (SGD) and Chapter 7 (the rest).

The interface, shared by every optimizer in this file:

    opt.step(params, grads)

``params`` and ``grads`` are dicts with the same keys (``"0.W"``, ``"0.b"``, ...).
``step`` updates every array in ``params`` *in place*, so the layers that own them see
the new values. Per-parameter state (velocities, moment estimates) lives in dicts under
the same keys. The optimizers come in increasing order of complexity.
"""

import numpy as np


class SGD:
    """Plain stochastic gradient descent: ``p <- p - lr * g``. Introduced in Chapter 2."""

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"SGD: lr must be > 0, got {lr!r}")
        self.lr = lr

    def step(self, params, grads):
        for key, p in params.items():
            p -= self.lr * grads[key]
