"""Numerical gradients: how the book checks every derivative it derives.

Introduced in Chapter 1 (``numerical_gradient``, ``rel_error``) and Chapter 4
(``check_layer``).
"""

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "check_layer"]


def numerical_gradient(f, x, eps=1e-6):
    """Central differences: df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    Args:
        f: a function of ``x`` returning a scalar. It is called with ``x`` itself, which
            is nudged in place one element at a time and restored afterwards, so ``f``
            may also ignore its argument and read ``x`` through a closure.
        x: float array of any shape (use float64: float32 rounding swamps eps).
    Returns:
        array of the shape of ``x``: the gradient of f at x. The error is O(eps^2).

    Introduced in Chapter 1.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"numerical_gradient: x must be a float array (it is nudged in place by eps), "
            f"got {got}; use x.astype(np.float64)"
        )
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """max |a - b| / max(max |a| + max |b|, 1e-12): the worst error, relative to the scale.

    a, b: arrays of the same shape -> a float. Around 1e-7 or below at float64 means the
    two agree; a wrong formula usually gives an error orders of magnitude larger (Chapter
    1 measures one that is wrong by a little). Introduced in Chapter 1.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    scale = max(np.max(np.abs(a), initial=0) + np.max(np.abs(b), initial=0), 1e-12)
    return float(np.max(np.abs(a - b), initial=0) / scale)


def check_layer(layer, x, *, eps=1e-6, rng=None, training=False):
    """Compare a layer's ``backward`` with numerical gradients; return the worst rel_error.

    Uses the scalar L = sum(forward(x) * dout) for a random ``dout``, whose gradient with
    respect to the output is exactly ``dout``. Checks dx and every parameter gradient.
    Run it in float64 (layers built with ``dtype=np.float64``, float64 ``x``).
    layer: any layer; x: an input it accepts, e.g. (N, D). ``training=True`` checks the
    training-mode computation (batch normalisation's batch statistics, Chapter 9).
    Introduced in Chapter 4.
    """
    rng = np.random.default_rng(rng)
    x = np.array(x, dtype=np.float64)
    dout = rng.standard_normal(layer.forward(x, training=training).shape)

    def loss(_):
        return float(np.sum(layer.forward(x, training=training) * dout))

    layer.forward(x, training=training)
    dx = layer.backward(dout)
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    errors = [rel_error(dx, numerical_gradient(loss, x, eps))]
    for key, p in layer.params.items():
        errors.append(rel_error(analytic[key], numerical_gradient(loss, p, eps)))
    return max(errors)
