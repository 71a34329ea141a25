"""Layers that know their derivatives. Introduced in Chapter 4 (Dense in Chapter 1).

The contract every layer keeps (the book, the tests and the optimizers rely on it):

- ``forward(x, training=False) -> out`` computes the output and keeps what ``backward``
  will need (its cache);
- ``backward(dout) -> dx`` takes dL/d(out), fills ``self.grads`` and returns dL/dx;
- ``params`` and ``grads`` are dicts with the same keys (empty for layers without
  parameters). ``backward`` writes gradients *into* the arrays of ``grads`` and never
  touches ``params``: updating weights is the optimizer's job.
- Layers read their parameters from ``params`` at every call, so an optimizer that
  updates those arrays in place updates the layer.

Shapes: N batch, D features in, M features out.
"""

import functools

import numpy as np

from .activations import sigmoid

__all__ = ["Layer", "Dense", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Dropout", "Flatten"]


class Layer:
    """Base class: a layer without parameters. Introduced in Chapter 4."""

    # True where backward(dout, input_grad=False) fills the grads and skips dL/dx: a
    # network's first layer never needs dL/dx in training (Dense, Conv2D).
    can_skip_input_grad = False

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._x = None

    def __repr__(self):
        return f"{type(self).__name__}()"

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def output_shape(self, input_shape):
        """The shape of ``forward``'s output for an input of ``input_shape``."""
        return tuple(input_shape)

    def _check_dout(self, dout):
        """Backward must receive a gradient shaped like the forward output."""
        if self._x is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        shape = self.output_shape(self._x.shape)
        if dout.shape != shape:
            raise ValueError(
                f"{self!r}: backward expected dout of shape {shape} (the shape of its "
                f"output), got {dout.shape}"
            )


@functools.lru_cache(maxsize=16)
def _ones(n, dtype):
    """A read-only vector of n ones, made once per batch size and dtype."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def _as_rng(rng):
    """Accept None, an int seed or a Generator, as numpy.random.default_rng does."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Dense(Layer):
    """A fully connected layer: ``out = x @ W + b``. Introduced in Chapter 1.

    Args:
        in_features: D, the width of each input row.
        out_features: M, the number of units.
        rng: seed or ``numpy.random.Generator`` for the initial weights.
        dtype: parameter dtype (float32 by default; gradient checks use float64).

    Parameters: ``W`` of shape (D, M), He-initialised with standard deviation
    sqrt(2 / D) (Chapter 5 derives why), and ``b`` of shape (M,), zeros.
    """

    can_skip_input_grad = True

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float32):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Dense: in_features and out_features must be >= 1, got "
                f"({in_features}, {out_features})"
            )
        self.in_features, self.out_features = in_features, out_features
        std = np.sqrt(2.0 / in_features)
        W = _as_rng(rng).standard_normal((in_features, out_features)) * std
        self.params = {"W": W.astype(dtype), "b": np.zeros(out_features, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"

    def output_shape(self, input_shape):
        return (input_shape[0], self.out_features)

    def forward(self, x, training=False):
        """x: (N, D) -> out: (N, M)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), got {x.shape}"
            )
        self._x = x
        out = x @ self.params["W"]
        out += self.params["b"]
        return out

    def backward(self, dout, input_grad=True):
        """dout: (N, M) -> dx: (N, D). Fills grads: dW = x^T dout, db = sum of dout rows.

        ``input_grad=False`` skips dx and returns None: for a network's first layer dx is
        the gradient with respect to the data, which training never uses, and it costs as
        much as the forward pass.
        """
        self._check_dout(dout)
        np.matmul(self._x.T, dout, out=self.grads["W"])
        # db = 1^T dout, the sum of dout's rows, as a product like dW's: the bias is the
        # weight of an input that is always 1. BLAS spreads it over every core.
        np.matmul(_ones(dout.shape[0], dout.dtype), dout, out=self.grads["b"])
        return dout @ self.params["W"].T if input_grad else None


class ReLU(Layer):
    """max(x, 0), element-wise, for input of any shape. Introduced in Chapter 4.

    forward: x of any shape (N, ...) -> out of the same shape.
    backward: dout of that shape -> dx of that shape.
    """

    def forward(self, x, training=False):
        self._x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        """dx = dout where x > 0, else 0: dout times the 0/1 mask (x > 0)."""
        self._check_dout(dout)
        dx = np.greater(self._x, 0, out=np.empty_like(dout))  # the mask, as 0.0 and 1.0
        return np.multiply(dout, dx, out=dx)


class LeakyReLU(Layer):
    """x where x > 0, else alpha * x. Introduced in Chapter 4."""

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = alpha

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape."""
        self._x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dout):
        """dx = dout where x > 0, else alpha * dout."""
        self._check_dout(dout)
        return np.where(self._x > 0, dout, self.alpha * dout)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), element-wise. Introduced in Chapter 4."""

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape, in (0, 1)."""
        self._x = x
        self._out = sigmoid(x)
        return self._out

    def backward(self, dout):
        """dx = dout * s (1 - s), reusing the output s kept by forward."""
        self._check_dout(dout)
        s = self._out
        dx = np.subtract(1, s, out=np.empty_like(dout))
        dx *= s
        dx *= dout
        return dx


class Tanh(Layer):
    """tanh(x), element-wise. Introduced in Chapter 4."""

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape, in (-1, 1)."""
        self._x = x
        self._out = np.tanh(x)
        return self._out

    def backward(self, dout):
        """dx = dout * (1 - tanh(x)^2)."""
        self._check_dout(dout)
        t = self._out
        dx = np.multiply(t, t, out=np.empty_like(dout))
        np.subtract(1, dx, out=dx)
        dx *= dout
        return dx


class Dropout(Layer):
    """Inverted dropout. Introduced in Chapter 5.

    In training each unit is kept with probability 1 - p and scaled by 1 / (1 - p), so the
    expected output equals the input and nothing needs rescaling at test time. With
    ``training=False`` the layer is the identity.
    """

    def __init__(self, p, *, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = p
        self.rng = _as_rng(rng)
        self._mask = None

    def __repr__(self):
        return f"Dropout(p={self.p})"

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape (x itself when not training)."""
        self._x = x
        if not training or self.p == 0:
            self._mask = None
            return x
        # mask = keep / (1 - p): 0 for a dropped unit, 1 / (1 - p) for a kept one.
        mask = self.rng.random(x.shape, dtype=np.float32)
        np.greater_equal(mask, self.p, out=mask)
        mask *= 1 / (1 - self.p)
        self._mask = mask.astype(x.dtype, copy=False)
        return x * self._mask

    def backward(self, dout):
        """dx = dout * mask (the same kept-and-scaled mask as the forward pass)."""
        self._check_dout(dout)
        return dout if self._mask is None else dout * self._mask


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), e.g. images (N, C, H, W) -> (N, C*H*W).

    Introduced in Chapter 6. Reshapes (without copying when x is stored in C order);
    backward reshapes dout back, stored like x (Conv2D and MaxPool2D keep images
    batch-last in memory, and the layers before expect their own layout back).
    """

    def output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x, training=False):
        """x: (N, ...) -> out: (N, product of the other dimensions)."""
        if x.ndim < 2:
            raise ValueError(f"Flatten(): expected input of shape (N, ...), got {x.shape}")
        self._x = x
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        self._check_dout(dout)
        dx = dout.reshape(self._x.shape)
        if self._x.flags.c_contiguous:
            return dx
        out = np.empty_like(self._x)  # same shape and memory order as x
        out[...] = dx
        return out
