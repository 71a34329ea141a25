"""The "static" network of Chapter 3: backpropagation written out by hand.

A fixed 784-M1-M2-10 ReLU network whose forward and backward passes are spelled out line
by line, with no loop over layers. It is the reader's first network, and it stays in the
library so that the general ``Sequential`` of Chapter 4 can be checked against it.

Introduced in Chapter 3. Notation: Z = A W + b, A = relu(Z), A0 = X.
"""

import numpy as np

from .activations import log_softmax, relu

__all__ = ["StaticMLP"]


class StaticMLP:
    """784-M1-M2-10 with ReLU hidden layers; the loss is softmax cross-entropy.

    Parameters (dict ``params``): W1 (784, M1), b1 (M1,), W2 (M1, M2), b2 (M2,),
    W3 (M2, 10), b3 (10,), with M1 = n_hidden1 and M2 = n_hidden2. He-initialised, float64
    by default (this network is for checking, not speed). Introduced in Chapter 3.
    """

    def __init__(
        self, n_hidden1=32, n_hidden2=32, *, n_in=784, n_out=10, rng=None, dtype=np.float64
    ):
        rng = np.random.default_rng(rng)
        sizes = [n_in, n_hidden1, n_hidden2, n_out]
        self.params = {}
        for l, (d, m) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{l}"] = (rng.standard_normal((d, m)) * np.sqrt(2 / d)).astype(dtype)
            self.params[f"b{l}"] = np.zeros(m, dtype=dtype)

    def forward(self, X):
        """X: (N, 784) -> logits Z3: (N, 10). Keeps Z1, A1, Z2, A2 for backward."""
        p = self.params
        if X.ndim != 2 or X.shape[1] != p["W1"].shape[0]:
            raise ValueError(
                f"StaticMLP: expected input of shape (N, {p['W1'].shape[0]}), got {X.shape}"
            )
        self.X = X
        self.Z1 = X @ p["W1"] + p["b1"]
        self.A1 = relu(self.Z1)
        self.Z2 = self.A1 @ p["W2"] + p["b2"]
        self.A2 = relu(self.Z2)
        self.Z3 = self.A2 @ p["W3"] + p["b3"]
        return self.Z3

    def backward(self, dZ3):
        """dZ3 = dL/dlogits, shape (N, 10) -> grads dict with the keys of ``params``."""
        p = self.params
        grads = {}
        # Layer 3: Z3 = A2 W3 + b3
        grads["W3"] = self.A2.T @ dZ3
        grads["b3"] = dZ3.sum(axis=0)
        dA2 = dZ3 @ p["W3"].T
        # Layer 2: A2 = relu(Z2), Z2 = A1 W2 + b2
        dZ2 = dA2 * (self.Z2 > 0)
        grads["W2"] = self.A1.T @ dZ2
        grads["b2"] = dZ2.sum(axis=0)
        dA1 = dZ2 @ p["W2"].T
        # Layer 1: A1 = relu(Z1), Z1 = X W1 + b1
        dZ1 = dA1 * (self.Z1 > 0)
        grads["W1"] = self.X.T @ dZ1
        grads["b1"] = dZ1.sum(axis=0)
        return grads

    def loss_and_grads(self, X, y):
        """Softmax cross-entropy loss (mean over the batch) and its gradients."""
        y = np.asarray(y)
        n_out = self.params[f"b{len(self.params) // 2}"].shape[0]
        if y.ndim != 1 or y.dtype.kind not in "iu" or y.shape[0] != np.shape(X)[0]:
            raise ValueError(
                f"StaticMLP: expected integer labels of shape ({np.shape(X)[0]},), got shape "
                f"{y.shape} and dtype {y.dtype}"
            )
        if y.size and (y.min() < 0 or y.max() >= n_out):
            raise ValueError(
                f"StaticMLP: labels must be in [0, {n_out - 1}], got values from {y.min()} "
                f"to {y.max()}"
            )
        logits = self.forward(X)
        N = X.shape[0]
        log_probs = log_softmax(logits)  # the stable form (Chapter 2)
        loss = -np.mean(log_probs[np.arange(N), y])
        dZ3 = np.exp(log_probs)  # softmax(logits)
        dZ3[np.arange(N), y] -= 1
        return float(loss), self.backward(dZ3 / N)

    def to_sequential(self):
        """The same network, with the same weights, as a ``Sequential`` of layers."""
        from .layers import Dense, ReLU
        from .network import Sequential

        dtype = self.params["W1"].dtype
        layers = []
        for l in (1, 2, 3):
            W = self.params[f"W{l}"]
            dense = Dense(*W.shape, dtype=dtype)
            dense.params["W"][...] = W
            dense.params["b"][...] = self.params[f"b{l}"]
            layers += [dense, ReLU()] if l < 3 else [dense]
        return Sequential(layers)
