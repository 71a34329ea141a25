"""Layers that know their derivatives. Introduced in Chapter 4 (Dense in Chapter 1).

The contract every layer keeps (the book, the tests and the optimizers rely on it):

- ``forward(x, training=False) -> out`` computes the output and keeps what ``backward``
  will need (its cache). ``training`` is True only while ``fit`` trains; ``Dropout``
  (Chapter 5) and ``BatchNorm1d`` (Chapter 9) behave differently then.
- ``backward(dout) -> dx`` takes dL/d(out), the gradient of the loss with respect to the
  layer's output, stores the gradients of its parameters in ``grads`` and returns dL/dx.
- ``params`` and ``grads`` are dicts with the same keys (empty for layers without
  parameters). ``backward`` writes *into* the arrays of ``grads`` (``grads["W"][...] =``)
  and never touches ``params``: updating weights is the optimizer's job. A layer reads its
  parameters from ``params`` at every call, so an optimizer that updates those arrays in
  place updates the layer.
- ``buffers``: a dict of arrays that are part of the layer's state but are not trained
  (``BatchNorm1d``'s running statistics); empty for most layers. ``Sequential.save``
  saves them with the parameters.

This file is the readable code, and the code that runs. A network (``Sequential``) may
hand the same computation to ``nnlib._engine``, which computes the same numbers faster
(the speed page says how, and the tests check it).

Shapes: N batch, D features in, M features out.
"""

import math

import numpy as np

from . import activations
from ._checks import as_float_array, as_rng, check_dtype, check_size, is_number

__all__ = [
    "Layer",
    "Dense",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "Dropout",
    "Flatten",
    "BatchNorm1d",
]


class Layer:
    """Base class: a layer without parameters. Introduced in Chapter 4."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}
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

    def _check_input(self, x):
        """x as a float array (lists are accepted) of a shape this layer takes."""
        x = as_float_array(repr(self), x)
        self.output_shape(x.shape)  # raises for the wrong shape
        return x

    def _check_dout(self, dout):
        """Backward must come after forward, with a gradient shaped like the output."""
        if self._x is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        dout = as_float_array(repr(self), dout, "dout")
        shape = self.output_shape(self._x.shape)
        if dout.shape != shape:
            raise ValueError(
                f"{self!r}: backward expected dout of shape {shape} (the shape of its "
                f"output), got {dout.shape}"
            )
        return dout


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

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float32):
        super().__init__()
        check_size("Dense", in_features=in_features, out_features=out_features)
        dtype = check_dtype("Dense", dtype)
        self.in_features, self.out_features = in_features, out_features
        W = as_rng("Dense", rng).standard_normal((in_features, out_features))
        W *= np.sqrt(2.0 / in_features)
        self.params = {"W": W.astype(dtype), "b": np.zeros(out_features, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), got {input_shape}"
            )
        return (input_shape[0], self.out_features)

    def forward(self, x, training=False):
        """x: (N, D) -> out: (N, M)."""
        x = self._check_input(x)  # an array of shape (N, D), or an error saying why not
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        """dout: (N, M) -> dx: (N, D). dW = x^T dout, db = the sum of dout's rows."""
        dout = self._check_dout(dout)
        self.grads["W"][...] = self._x.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class ReLU(Layer):
    """max(x, 0), element-wise, for input of any shape. Introduced in Chapter 4."""

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape."""
        x = self._check_input(x)
        self._x = x
        return activations.relu(x)

    def backward(self, dout):
        """dx = dout where x > 0, else 0."""
        dout = self._check_dout(dout)
        return dout * (self._x > 0)


class LeakyReLU(Layer):
    """x where x > 0, else alpha * x: Chapter 1's LeakyReLU as a layer (used from Chapter 5)."""

    def __init__(self, alpha=0.01):
        super().__init__()
        if not is_number(alpha):
            raise ValueError(f"LeakyReLU: alpha must be a finite number, got {alpha!r}")
        self.alpha = alpha

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape."""
        x = self._check_input(x)
        self._x = x
        return activations.leaky_relu(x, self.alpha)

    def backward(self, dout):
        """dx = dout where x > 0, else alpha * dout."""
        dout = self._check_dout(dout)
        return dout * activations.leaky_relu_grad(self._x, self.alpha).astype(dout.dtype)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), element-wise. Introduced in Chapter 4."""

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape, in (0, 1)."""
        x = self._check_input(x)
        self._x = x
        self._out = activations.sigmoid(x)
        return self._out

    def backward(self, dout):
        """dx = dout * s (1 - s), with s = sigmoid(x) kept by forward."""
        dout = self._check_dout(dout)
        s = self._out
        return dout * s * (1 - s)


class Tanh(Layer):
    """tanh(x), element-wise. Introduced in Chapter 4."""

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape, in (-1, 1)."""
        x = self._check_input(x)
        self._x = x
        self._out = activations.tanh(x)
        return self._out

    def backward(self, dout):
        """dx = dout * (1 - t^2), with t = tanh(x) kept by forward."""
        dout = self._check_dout(dout)
        return dout * (1 - self._out**2)


class Dropout(Layer):
    """Inverted dropout. Introduced in Chapter 5.

    In training each unit is kept with probability 1 - p and scaled by 1 / (1 - p), so the
    expected output equals the input and nothing needs rescaling at test time. With
    ``training=False`` the layer is the identity.
    """

    def __init__(self, p, *, rng=None):
        super().__init__()
        if not (is_number(p) and 0 <= p < 1):
            raise ValueError(f"Dropout: p must be a number in [0, 1), got {p!r}")
        self.p = p
        self.rng = as_rng("Dropout", rng)
        self._mask = None

    def __repr__(self):
        return f"Dropout(p={self.p})"

    def forward(self, x, training=False):
        """x: any shape -> out: the same shape (x itself when not training)."""
        x = self._check_input(x)
        self._x = x
        if not training or self.p == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self._mask = (keep / (1 - self.p)).astype(x.dtype)  # 0, or 1 / (1 - p)
        return x * self._mask

    def backward(self, dout):
        """dx = dout * mask (the same kept-and-scaled mask as the forward pass)."""
        dout = self._check_dout(dout)
        return dout if self._mask is None else dout * self._mask


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), e.g. images (N, C, H, W) -> (N, C*H*W).

    Introduced in Chapter 6.
    """

    def output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Flatten(): expected input of shape (N, ...), got {input_shape}")
        return (input_shape[0], math.prod(input_shape[1:]))

    def forward(self, x, training=False):
        """x: (N, ...) -> out: (N, product of the other dimensions)."""
        x = self._check_input(x)
        self._x = x
        return x.reshape(self.output_shape(x.shape))

    def backward(self, dout):
        """dout: (N, d1 d2 ...) -> dx: (N, d1, d2, ...), the same numbers reshaped back."""
        dout = self._check_dout(dout)
        return dout.reshape(self._x.shape)


class BatchNorm1d(Layer):
    """Batch normalisation of every feature over the batch. Introduced in Chapter 9.

    With ``training=True`` each feature is standardised with its mean over the batch,
    ``mean``, and its biased variance (dividing by n), ``var``, then scaled and shifted by
    learned parameters:

        x_hat = (x - mean) / sqrt(var + eps),    out = gamma * x_hat + beta.

    Training also moves the running statistics towards the batch's,
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance
    ``var * n / (n - 1)`` for ``running_var`` (n values per feature). With
    ``training=False`` the running statistics stand in for ``mean`` and ``var``, so an
    example's output no longer depends on the rest of its batch. These are PyTorch's
    ``BatchNorm1d`` semantics.

    Args:
        num_features: D, the width of each input row.
        eps: added to the variance before the square root.
        momentum: how far the running statistics move towards each batch's.
        dtype: parameter dtype (float32 by default; gradient checks use float64).

    Parameters: ``gamma`` (D,), ones, and ``beta`` (D,), zeros. Buffers (state that is
    saved with the network but not trained): ``running_mean`` (D,), zeros, and
    ``running_var`` (D,), ones. Input (N, D) -> output (N, D).
    """

    def __init__(self, num_features, *, eps=1e-5, momentum=0.1, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        check_size(name, num_features=num_features)
        dtype = check_dtype(name, dtype)
        if not is_number(eps) or eps <= 0:
            raise ValueError(f"{name}: eps must be a positive number, got {eps!r}")
        if not is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be a number in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params = {"gamma": np.ones(num_features, dtype), "beta": np.zeros(num_features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(num_features, dtype),
            "running_var": np.ones(num_features, dtype),
        }

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features})"

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.num_features}), got {input_shape}"
            )
        return tuple(input_shape)

    def _axes(self, x):
        """The axes a feature's statistics average over: all but axis 1 (the features)."""
        return (0, *range(2, x.ndim))

    def _per_feature(self, v, x):
        """A (D,) vector shaped to broadcast against x along its feature axis 1."""
        return v.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x, training=False):
        """x: (N, D) -> out: (N, D), each feature normalised, scaled by gamma, shifted by beta."""
        x = self._check_input(x)  # an array of shape (N, D), or an error saying why not
        axes, n = self._axes(x), x.size // self.num_features  # n values per feature
        if training:
            if n < 2:
                raise ValueError(
                    f"{self!r}: training needs more than one value per feature to compute a "
                    f"variance, got input of shape {x.shape}; use batches of 2 or more"
                )
            mean = x.mean(axis=axes, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased: divides by n
            m = self.momentum
            running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
            running_mean[...] = (1 - m) * running_mean + m * mean.ravel()
            running_var[...] = (1 - m) * running_var + m * var.ravel() * n / (n - 1)
        else:
            mean = self._per_feature(self.buffers["running_mean"], x)
            var = self._per_feature(self.buffers["running_var"], x)
        self._x, self._training = x, training
        self._inv_std = 1 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        gamma, beta = (self._per_feature(self.params[k], x) for k in ("gamma", "beta"))
        return gamma * self._x_hat + beta

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D). Fills grads["gamma"] and grads["beta"].

        dgamma = sum(dout * x_hat) and dbeta = sum(dout) over the batch. In training mean
        and var depend on every x, and Chapter 9 derives the compact form
        dx = gamma / sqrt(var + eps) * (dout - mean(dout) - x_hat * mean(dout * x_hat));
        in evaluation they are constants, and dx = gamma / sqrt(var + eps) * dout.
        """
        dout = self._check_dout(dout)
        x, x_hat = self._x, self._x_hat
        axes, n = self._axes(x), x.size // self.num_features
        dbeta = dout.sum(axis=axes)
        dgamma = (dout * x_hat).sum(axis=axes)
        self.grads["beta"][...] = dbeta
        self.grads["gamma"][...] = dgamma
        scale = self._per_feature(self.params["gamma"], x) * self._inv_std
        if not self._training:
            return scale * dout
        mean_dout = self._per_feature(dbeta / n, x)
        mean_dout_x_hat = self._per_feature(dgamma / n, x)
        return scale * (dout - mean_dout - x_hat * mean_dout_x_hat)
