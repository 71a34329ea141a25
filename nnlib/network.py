"""Sequential: a network as a list of layers. Introduced in Chapter 4.

Forward runs the layers in order; backward runs them in reverse, each turning the gradient
of its output into the gradient of its input (the recurrence derived in Chapter 4).
A ``Sequential`` is itself a ``Layer``: it can sit inside another one.

With the engine on (the default, see ``nnlib._engine``), a network keeps all its
parameters in one flat buffer, leaving views behind in the layers, and runs its layers
through the engine's faster arrangement of the same computations. Nothing changes for the
reader's code: ``params``, ``grads``, ``forward`` and ``backward`` mean what they say here.
"""

from pathlib import Path

import numpy as np

from . import _engine
from ._atomic import uninterrupted
from ._checks import as_float_array
from ._npz import read_arrays
from .layers import Layer

__all__ = ["Sequential"]


def check_finite(owner, name, X):
    """Raise a ValueError naming ``owner`` if the float array X holds NaN or inf.

    The smallest and the largest value are both finite exactly when every value is (NaN
    makes both NaN); unlike a sum, neither can overflow.
    """
    if X.dtype.kind in "fc" and X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
        raise ValueError(
            f"{owner}: {name} of shape {X.shape} contains NaN or inf values; clean or impute "
            "the data first"
        )


class Sequential(Layer):
    """A feed-forward network: ``Sequential([Dense(784, 32), ReLU(), Dense(32, 10)])``.

    Introduced in Chapter 4. ``params`` and ``grads`` are dicts keyed
    ``"<layer index>.<name>"``, e.g. ``"0.W"``, ``"0.b"``, ``"2.W"`` (``"1.0.W"`` for a
    network inside a network), holding the layers' own arrays.
    """

    def __init__(self, layers):
        self._x = None  # (Layer.__init__ is not called: params and grads are computed here)
        if not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"Sequential: expected a list of layers, such as [Dense(784, 32), ReLU()], got "
                f"{layers!r}"
            )
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential: needs at least one layer, got an empty list")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential: layer {i} is {layer!r}, not a Layer (such as Dense(3, 4))"
                )
        self._check_no_repeats()
        self._flat = None
        self._plan, self._ran_plan = None, None
        if _engine.engine_enabled():
            for inner in self._inner_networks():
                inner._flat = None  # this network's buffer now holds their parameters
            self._flat = _engine.flatten(list(self._named_leaves()))

    def __repr__(self):
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"

    def _named_leaves(self, prefix=""):
        """(key prefix, layer) for every layer with parameters, inner networks opened."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Sequential):
                yield from layer._named_leaves(f"{prefix}{i}.")
            elif layer.params:
                yield f"{prefix}{i}.", layer

    def _inner_networks(self):
        for layer in self.layers:
            if isinstance(layer, Sequential):
                yield layer
                yield from layer._inner_networks()

    def _check_no_repeats(self):
        """The same layer object twice would share a cache that its backward needs."""
        seen = {}

        def visit(net, where):
            for i, layer in enumerate(net.layers):
                if id(layer) in seen:
                    raise ValueError(
                        f"Sequential: layer {where}{i} ({layer!r}) is the same object as layer "
                        f"{seen[id(layer)]}; each position needs its own layer (make a new "
                        "ReLU() for each), since a layer keeps its input for backward"
                    )
                seen[id(layer)] = f"{where}{i}"
                if isinstance(layer, Sequential):
                    visit(layer, f"{where}{i}.")

        visit(self, "")

    @property
    def params(self):
        """Dict ``{"0.W": array, ...}`` of every layer's parameters (the layers' own arrays)."""
        return self._dicts()[0]

    @property
    def grads(self):
        """Dict with the same keys as ``params``: the gradients ``backward`` filled."""
        return self._dicts()[1]

    def _dicts(self):
        """(params, grads); over the engine's flat buffers while the layers still use them."""
        flat = self._flat.dicts() if self._flat is not None else None
        if flat is not None:
            return flat
        leaves = list(self._named_leaves())
        return (
            {p + k: v for p, layer in leaves for k, v in layer.params.items()},
            {p + k: v for p, layer in leaves for k, v in layer.grads.items()},
        )

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def forward(self, X, training=False):
        """X: (N, ...) -> the last layer's output, e.g. logits (N, C).

        ``training=True`` switches Dropout on. Raises ValueError for an empty X or one
        holding NaN or inf; each layer checks the shape it receives.
        """
        X = as_float_array("Sequential", X)
        if X.ndim == 0 or X.shape[0] == 0:
            raise ValueError(f"Sequential: got an empty input of shape {X.shape}")
        check_finite("Sequential", "the input", X)
        self._x = X
        plan = self._engine_plan()
        self._ran_plan = plan
        out = X
        for i, step in enumerate(plan.steps if plan else self.layers):
            try:
                out = step.forward(out, training=training)
            except ValueError as error:  # say where in the network it happened
                where = step.index if plan else i
                raise ValueError(f"Sequential, layer {where}: {error}") from None
        return out

    def backward(self, dout):
        """dout: dL/d(output), shaped like forward's output -> dL/dX, shaped like X.

        Runs the layers' backward passes in reverse order; each fills its ``grads``.
        Updates nothing: that is the optimizer's job.
        """
        dout = self._check_dout(dout)
        if self._ran_plan is not None:
            return self._ran_plan.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def _engine_plan(self):
        """The engine's plan for these layers, or None with the engine off."""
        if not _engine.engine_enabled():
            return None
        if self._plan is None or not self._plan.is_for(self.layers):
            self._plan = _engine.Plan(self.layers)
        return self._plan

    def predict(self, X, batch_size=1000):
        """X: (N, ...) -> outputs (e.g. logits (N, C)) in evaluation mode, batch by batch."""
        X = as_float_array("Sequential.predict", X)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(
                f"Sequential.predict: batch_size must be an integer, got {batch_size!r}"
            )
        if batch_size < 1:
            raise ValueError(f"Sequential.predict: batch_size must be >= 1, got {batch_size}")
        if X.ndim == 0 or X.shape[0] == 0:
            raise ValueError(
                f"Sequential.predict: expected a batch of inputs (N, ...), got shape {X.shape}"
            )
        outs = [self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.concatenate(outs)

    def summary(self, input_shape):
        """A table of layers, output shapes and parameter counts; shows itself in notebooks.

        input_shape: the shape of one example, without the batch, e.g. (784,) or (1, 28, 28).
        Raises the layer's own error where a shape does not fit. Returns the table as text
        (``print(model.summary((784,)))`` in a script).
        """
        shape = (1, *input_shape)
        rows = [("#", "Layer", "Output shape", "Parameters")]
        for i, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as error:
                raise ValueError(f"Sequential.summary, layer {i}: {error}") from None
            count = sum(p.size for p in layer.params.values())
            rows.append((str(i), repr(layer), str((None, *shape[1:])), f"{count:,}"))
        total = sum(p.size for p in self.params.values())
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        rule = "-" * len(max(lines, key=len))
        return _Text("\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {total:,}"]))

    def save(self, path):
        """Save the parameters to ``path`` (.npz): plain arrays, no pickle. Introduced in Chapter 5.

        Keys are those of ``params``; NumPy adds ".npz" to a path without it.
        """
        np.savez(path, **self.params)

    def load(self, path):
        """Load parameters saved by ``save`` into this network, checking everything first.

        Introduced in Chapter 5. Never runs code from the file (no pickle), and checks
        every array (keys, shapes, float dtype, finite values) before any parameter is
        written, so a bad file leaves the network as it was; each array's shape is checked
        before its data is read (``nnlib._npz``). Returns the network itself.
        """
        path = Path(path)
        if not path.exists() and path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")  # np.savez added the suffix
        params = self.params
        arrays = read_arrays(path, params, "Sequential.load")
        for key, a in arrays.items():
            check_finite("Sequential.load", f"parameter {key!r} in {path} (as {a.dtype})", a)
        with uninterrupted():  # a Ctrl-C cannot leave the network half-loaded
            for key, p in params.items():
                p[...] = arrays[key]
        return self


class _Text(str):
    """Text that notebooks display as itself, once (not as a quoted string)."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))
