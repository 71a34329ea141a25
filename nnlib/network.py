"""Sequential: a network as a list of layers. Introduced in Chapter 4.

Forward runs the layers in order; backward runs them in reverse, each turning the gradient
of its output into the gradient of its input (the recurrence derived in Chapter 4).
A ``Sequential`` is itself a ``Layer``: it can sit inside another one. ``Residual``
(Chapter 9) adds a layer's input to its output: a skip connection.

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

__all__ = ["Sequential", "Residual"]


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
        self._inner = False  # True once inside another network (see forward)
        for inner in self._inner_networks():
            inner._inner = True
            inner._flat = None  # with the engine, this network's buffer holds their parameters
        if _engine.engine_enabled():
            self._flat = _engine.flatten(list(self._named_leaves()))

    def __repr__(self):
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"

    def _named_leaves(self, prefix=""):
        """(key prefix, layer) for every layer with parameters or buffers, containers
        (inner networks, residual blocks) opened."""

        def walk(layer, prefix):
            children = _children(layer)
            for key, child in children:
                yield from walk(child, prefix if key is None else f"{prefix}{key}.")
            if not children and (layer.params or getattr(layer, "buffers", None)):
                yield prefix, layer

        for i, layer in enumerate(self.layers):
            yield from walk(layer, f"{prefix}{i}.")

    def _inner_networks(self):
        """Every Sequential inside this one, at any depth (residual blocks included)."""
        stack = [child for _, child in _children(self)]
        while stack:
            layer = stack.pop()
            if isinstance(layer, Sequential):
                yield layer
            stack.extend(child for _, child in _children(layer))

    def _check_no_repeats(self):
        """The same layer object twice would share a cache that its backward needs."""
        seen = {}

        def visit(layer, where):
            for key, child in _children(layer):
                position = f"{where}{'block' if key is None else key}"  # "1.block.0"
                if id(child) in seen:
                    raise ValueError(
                        f"Sequential: layer {position} ({child!r}) is the same object as layer "
                        f"{seen[id(child)]}; each position needs its own layer (make a new "
                        "ReLU() for each), since a layer keeps its input for backward"
                    )
                seen[id(child)] = position
                visit(child, position + ".")

        visit(self, "")

    @property
    def buffers(self):
        """Dict ``{"1.running_mean": array, ...}`` of every layer's buffers: state that is
        saved with the parameters but not trained (``BatchNorm1d``'s running statistics)."""
        return {
            p + k: v
            for p, layer in self._named_leaves()
            for k, v in getattr(layer, "buffers", {}).items()
        }

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
        holding NaN or inf; each layer checks the shape it receives. (A network inside
        another skips the NaN check: its input is an activation, and a NaN there means
        training diverged, which the loss reports.)
        """
        X = as_float_array("Sequential", X)
        if X.ndim == 0 or X.shape[0] == 0:
            raise ValueError(f"Sequential: got an empty input of shape {X.shape}")
        if not self._inner:
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

        Keys are those of ``params`` and of ``buffers`` (the running statistics of batch
        normalisation, Chapter 9); NumPy adds ".npz" to a path without it.
        """
        np.savez(path, **self.params, **self.buffers)

    def load(self, path):
        """Load parameters saved by ``save`` into this network, checking everything first.

        Introduced in Chapter 5. Never runs code from the file (no pickle), and checks
        every array (keys, shapes, float dtype, finite values) before any parameter or
        buffer is written, so a bad file leaves the network as it was; each array's shape
        is checked before its data is read (``nnlib._npz``). Returns the network itself.
        """
        path = Path(path)
        if not path.exists() and path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")  # np.savez added the suffix
        buffers = self.buffers
        params = {**self.params, **buffers}  # everything save wrote
        arrays = read_arrays(path, params, "Sequential.load", buffers=buffers)
        for key, a in arrays.items():
            kind = "buffer" if key in buffers else "parameter"
            check_finite("Sequential.load", f"{kind} {key!r} in {path} (as {a.dtype})", a)
        with uninterrupted():  # a Ctrl-C cannot leave the network half-loaded
            for key, p in params.items():
                p[...] = arrays[key]
        return self


class Residual(Layer):
    """A skip connection: ``out = x + block(x)``. Introduced in Chapter 9.

    block: any layer or ``Sequential`` whose output has the shape of its input.
    ``params``, ``grads`` and ``buffers`` are the block's, under the block's keys; inside
    a ``Sequential`` they take the Residual's position as prefix, as an inner network's
    do: ``Sequential([Dense(4, 4), Residual(Sequential([Dense(4, 4), ReLU()]))])`` has
    the keys ``"0.W"``, ``"0.b"``, ``"1.0.W"``, ``"1.0.b"``.
    """

    def __init__(self, block):
        self._x = None  # (Layer.__init__ is not called: params and grads are the block's)
        if not isinstance(block, Layer):
            raise TypeError(f"Residual: block is {block!r}, not a Layer (such as Dense(4, 4))")
        self.block = block

    def __repr__(self):
        return f"Residual({self.block!r})"

    @property
    def params(self):
        return self.block.params

    @property
    def grads(self):
        return self.block.grads

    @property
    def buffers(self):
        return getattr(self.block, "buffers", {})

    def output_shape(self, input_shape):
        shape = tuple(self.block.output_shape(input_shape))
        if shape != tuple(input_shape):
            raise ValueError(
                f"Residual: the block turns input of shape {tuple(input_shape)} into "
                f"{shape}; x + block(x) needs the same shape in and out"
            )
        return shape

    def forward(self, x, training=False):
        """x: (N, ...) -> x + block(x), of the same shape."""
        x = self._check_input(x)  # a float array whose shape the block keeps, or an error
        self._x = x
        return x + self.block.forward(x, training=training)

    def backward(self, dout):
        """dx = dout + the block's dx: the gradient flows through the sum both ways."""
        dout = self._check_dout(dout)
        return dout + self.block.backward(dout)


def _children(layer):
    """[(key, sublayer)] of a container: a Sequential's layers keyed by position, a
    Residual's block with key None (it adds nothing to the keys); [] for other layers."""
    if isinstance(layer, Sequential):
        return list(enumerate(layer.layers))
    if isinstance(layer, Residual):
        return [(None, layer.block)]
    return []


class _Text(str):
    """Text that notebooks display as itself, once (not as a quoted string)."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))
