"""Activation functions and their derivatives. Introduced in Chapter 1.

Each function acts element-wise on an array ``z`` of any shape, and each ``*_grad(z)``
returns the element-wise derivative d phi / d z at ``z``, with the same shape.
``softmax`` acts on the last axis and is the one function here that mixes elements.
"""

import numpy as np

__all__ = [
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "softmax",
    "log_softmax",
]


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), without overflow for large |z|.

    z: any shape -> the same shape, in [0, 1]. Introduced in Chapter 1.
    """
    z = np.asarray(z)
    # exp(-|z|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)).

    z: any shape -> the same shape. Introduced in Chapter 1.
    """
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    """The hyperbolic tangent. z: any shape -> the same shape. Introduced in Chapter 1."""
    return np.tanh(z)


def tanh_grad(z):
    """tanh'(z) = 1 - tanh(z)^2. z: any shape -> the same shape. Introduced in Chapter 1."""
    t = np.tanh(z)
    return 1 - t * t


def relu(z):
    """max(z, 0). z: any shape -> the same shape. Introduced in Chapter 1."""
    return np.maximum(z, 0)


def relu_grad(z):
    """1 where z > 0, else 0 (the derivative at 0 is taken to be 0, as PyTorch does).

    z: any shape -> the same shape. Introduced in Chapter 1.
    """
    z = np.asarray(z)
    return (z > 0).astype(z.dtype if z.dtype.kind == "f" else np.float64)


def leaky_relu(z, alpha=0.01):
    """z where z > 0, else alpha * z. z: any shape -> the same shape. Introduced in Chapter 1."""
    z = np.asarray(z)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha=0.01):
    """1 where z > 0, else alpha. z: any shape -> the same shape. Introduced in Chapter 1."""
    z = np.asarray(z)
    dtype = z.dtype if z.dtype.kind == "f" else np.float64
    return np.where(z > 0, 1, alpha).astype(dtype)


def softmax(z, axis=-1):
    """exp(z_k) / sum_j exp(z_j) along ``axis``, stable for logits in the thousands.

    Subtracting the row maximum first changes nothing mathematically (it cancels between
    numerator and denominator) but keeps every exponent <= 0, so nothing overflows.
    z: any shape, e.g. logits (N, C) -> probabilities of the same shape, summing to 1
    along ``axis``. Introduced in Chapter 1.
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    """log softmax(z) = z - logsumexp(z) along ``axis``, without overflow or log(0).

    The row maximum m is subtracted first: log sum_j exp(z_j) = m + log sum_j exp(z_j - m),
    so every exponent is <= 0 and the largest term is exp(0) = 1 (the sum is never 0).
    z: any shape, e.g. logits (N, C) -> log-probabilities of the same shape.
    Introduced in Chapter 2 (the stable cross-entropy).
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
