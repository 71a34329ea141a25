"""A network's parameters and gradients in one contiguous buffer each.

``flatten(layers)`` moves every parameter of ``layers`` into one flat array (and every
gradient into another), leaving views behind in the layers' ``params`` and ``grads``: the
layers see no difference. An optimizer can then update the whole network with one pass
over one array (``nnlib._engine.optim``) instead of one pass per parameter array, which
for small arrays is mostly Python overhead. The buffers live on huge pages when large
(``nnlib._engine.memory``).
"""

import numpy as np

from . import memory


class FlatDict(dict):
    """A dict of parameter (or gradient) arrays that knows the flat buffer behind them.

    ``flat`` is the 1-D buffer when every value is still the view ``flatten`` made (in
    order, covering the buffer), else None. It is what ``Sequential.params`` returns.
    """

    flat = None


class Flat:
    """The flat buffers of one network, and the views handed to its layers."""

    def __init__(self, params, grads, entries):
        self.params, self.grads = params, grads
        self.entries = entries  # (key, layer, name, parameter view, gradient view)
        self._dicts = (
            FlatDict((key, p) for key, _, _, p, _ in entries),
            FlatDict((key, g) for key, _, _, _, g in entries),
        )
        self._dicts[0].flat, self._dicts[1].flat = params, grads

    def intact(self):
        """True while every layer still holds the views this buffer handed out."""
        return all(
            layer.params.get(name) is p and layer.grads.get(name) is g
            for _, layer, name, p, g in self.entries
        )

    def dicts(self):
        """(params, grads) as new FlatDicts over the buffers, or None if not intact."""
        if not self.intact():
            return None
        params, grads = FlatDict(self._dicts[0]), FlatDict(self._dicts[1])
        params.flat, grads.flat = self.params, self.grads
        return params, grads


def flatten(named_layers):
    """Move the parameters of ``named_layers`` [(prefix, layer), ...] into flat buffers.

    Returns a ``Flat``, or None when there is nothing to flatten or the parameters do not
    share one dtype (they are then left as they are).
    """
    entries_in = [(prefix, layer, k) for prefix, layer in named_layers for k in layer.params]
    dtypes = {layer.params[k].dtype for _, layer, k in entries_in}
    if not entries_in or len(dtypes) != 1:
        return None
    dtype = dtypes.pop()
    size = sum(layer.params[k].size for _, layer, k in entries_in)
    flat_p, flat_g = memory.zeros(size, dtype), memory.zeros(size, dtype)
    entries, offset = [], 0
    for prefix, layer, k in entries_in:
        p = layer.params[k]
        view = flat_p[offset : offset + p.size].reshape(p.shape)
        view[...] = p
        grad = flat_g[offset : offset + p.size].reshape(p.shape)
        grad[...] = layer.grads.get(k, 0)
        layer.params[k], layer.grads[k] = view, grad
        entries.append((prefix + k, layer, k, view, grad))
        offset += p.size
    return Flat(flat_p, flat_g, entries)


def same_buffer_layout(params):
    """True when ``params`` (a FlatDict) is intact over its flat buffer."""
    return isinstance(params, FlatDict) and isinstance(params.flat, np.ndarray)
