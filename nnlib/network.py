"""Sequential: a network as a list of layers. Introduced in Chapter 4.

Forward runs the layers in order; backward runs them in reverse, each turning the gradient
of its output into the gradient of its input (the recurrence derived in Chapter 4).

All parameters live in one contiguous buffer, ``flat_params`` (and their gradients in
``flat_grads``); every layer's ``params``/``grads`` entries are views into it. Nothing
changes for a layer, but an optimizer can update the whole network in one vectorised
step (Chapter 7 and the speed page show why that matters).
"""

from pathlib import Path

import numpy as np

from . import memory

__all__ = ["Sequential"]


def _all_finite(X):
    """True if X (non-empty) holds no NaN or inf.

    The smallest and the largest value are both finite exactly when every value is (NaN
    makes both NaN): two passes that NumPy vectorises, which unlike a sum cannot overflow.
    np.minimum.reduce is what X.min() runs, minus a layer of Python (losses.py says why
    that matters in a training loop).
    """
    lo, hi = np.minimum.reduce(X, axis=None), np.maximum.reduce(X, axis=None)
    return bool(np.isfinite(lo) and np.isfinite(hi))


class Sequential:
    """A feed-forward network: ``Sequential([Dense(784, 32), ReLU(), Dense(32, 10)])``.

    Introduced in Chapter 4. Parameter keys are ``"<layer index>.<name>"``, e.g. ``"0.W"``,
    ``"0.b"``, ``"2.W"``. ``flat_params`` and ``flat_grads`` are 1-D arrays holding every
    parameter and gradient; the layers' own arrays are views into them.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential: needs at least one layer, got an empty list")
        self._flatten_parameters()

    def __repr__(self):
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"

    def _flatten_parameters(self):
        """Move every parameter and gradient into one flat buffer, leaving views behind."""
        entries = [(layer, k) for layer in self.layers for k in layer.params]
        dtypes = [layer.params[k].dtype for layer, k in entries] or [np.float32]
        dtype = np.result_type(*dtypes)
        size = sum(layer.params[k].size for layer, k in entries)
        self.flat_params = memory.zeros(size, dtype)  # on huge pages when large (memory.py)
        self.flat_grads = memory.zeros(size, dtype)
        offset = 0
        for layer, k in entries:
            p = layer.params[k]
            view = self.flat_params[offset : offset + p.size].reshape(p.shape)
            view[...] = p
            layer.params[k] = view
            layer.grads[k] = self.flat_grads[offset : offset + p.size].reshape(p.shape)
            offset += p.size

    def params(self):
        """Flat dict ``{"0.W": array, ...}`` of views into ``flat_params``."""
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()
        }

    def grads(self):
        """Flat dict with the same keys as ``params()``, views into ``flat_grads``."""
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()
        }

    def forward(self, X, training=False):
        """X: (N, ...) -> the last layer's output, e.g. logits (N, C).

        ``training=True`` switches Dropout on. Raises ValueError for an empty X or one
        holding NaN or inf; each layer checks the shape it receives.
        """
        X = np.asarray(X)
        if X.ndim == 0 or X.shape[0] == 0:
            raise ValueError(f"Sequential: got an empty input of shape {X.shape}")
        if X.dtype.kind == "f" and X.size and not _all_finite(X):
            raise ValueError(
                f"Sequential: the input of shape {X.shape} contains NaN or inf values; "
                "clean or impute the data first"
            )
        out = X
        for i, layer in enumerate(self.layers):
            try:
                out = layer.forward(out, training=training)
            except ValueError as error:  # say where in the network it happened
                raise ValueError(f"Sequential, layer {i}: {error}") from None
        return out

    def backward(self, dout, *, input_grad=True):
        """dout: dL/d(output), shaped like forward's output -> dL/dX, shaped like X.

        Fills every layer's ``grads`` (views into ``flat_grads``); updates nothing.
        ``input_grad=False`` (what ``fit`` uses) lets a first layer that can (Dense,
        Conv2D: ``can_skip_input_grad``) skip dL/dX, which training never needs; the
        return value is then None.
        """
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            if i == 0 and not input_grad and layer.can_skip_input_grad:
                return layer.backward(dout, input_grad=False)
            dout = layer.backward(dout)
        return dout

    def predict(self, X, batch_size=1000):
        """X: (N, ...) -> outputs (e.g. logits (N, C)) in evaluation mode, batch by batch."""
        X = np.asarray(X)
        if batch_size < 1:
            raise ValueError(f"Sequential.predict: batch_size must be >= 1, got {batch_size}")
        if X.shape[0] == 0:
            raise ValueError(f"Sequential.predict: got an empty input of shape {X.shape}")
        outs = [self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.concatenate(outs)

    def summary(self, input_shape):
        """Print and return a table of layers, output shapes and parameter counts.

        input_shape: the shape of one example, without the batch, e.g. (784,) or (1, 28, 28).
        """
        shape = (None, *input_shape)
        rows = [("#", "Layer", "Output shape", "Parameters")]
        for i, layer in enumerate(self.layers):
            shape = (None, *layer.output_shape((1, *shape[1:]))[1:])
            count = sum(p.size for p in layer.params.values())
            rows.append((str(i), repr(layer), str(shape), f"{count:,}"))
        total = sum(p.size for p in self.params().values())
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        rule = "-" * len(max(lines, key=len))
        text = "\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {total:,}"])
        print(text)
        return text

    def save(self, path):
        """Save the parameters to ``path`` (.npz): plain arrays, no pickle. Introduced in Chapter 5.

        Keys are those of ``params()``; NumPy adds ".npz" to a path without it.
        """
        np.savez(path, **self.params())

    def load(self, path):
        """Load parameters saved by ``save`` into this network, checking every shape.

        Introduced in Chapter 5. Reads with ``allow_pickle=False``, so a file can only hold
        arrays, never code. Returns the network itself. Raises ValueError naming the first
        parameter whose shape differs, or the keys that are missing or unexpected.
        """
        path = Path(path)
        if not path.exists() and path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")  # np.savez added the suffix
        params = self.params()
        with np.load(path, allow_pickle=False) as f:
            missing = sorted(set(params) - set(f.files))
            extra = sorted(set(f.files) - set(params))
            if missing or extra:
                raise ValueError(
                    f"Sequential.load: {path} does not match this network: missing "
                    f"{missing}, unexpected {extra}"
                )
            for key, p in params.items():
                if f[key].shape != p.shape:
                    raise ValueError(
                        f"Sequential.load: parameter {key!r} has shape {f[key].shape} in "
                        f"{path}, but this network's has shape {p.shape}"
                    )
            for key, p in params.items():
                p[...] = f[key]
        return self
