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
    """The flat buffers of one network and the views handed to its layers."""

    def __init__(self, params, grads, keys, param_views, grad_views):
        self.params, self.grads, self.keys = params, grads, keys
        self.param_views, self.grad_views = param_views, grad_views

    def as_dicts(self, params, grads):
        """``params`` and ``grads`` as FlatDicts, with ``flat`` set if still intact."""
        p, g = FlatDict(params), FlatDict(grads)
        if (
            list(p) == self.keys
            and all(p[k] is v for k, v in zip(self.keys, self.param_views))
            and all(g[k] is v for k, v in zip(self.keys, self.grad_views))
        ):
            p.flat, g.flat = self.params, self.grads
        return p, g


def flatten(named_layers):
    """Move the parameters of ``named_layers`` [(prefix, layer), ...] into flat buffers.

    Returns a ``Flat``, or None when there is nothing to flatten or the parameters do not
    share one dtype (they are then left as they are).
    """
    entries = [(prefix, layer, k) for prefix, layer in named_layers for k in layer.params]
    dtypes = {layer.params[k].dtype for _, layer, k in entries}
    if not entries or len(dtypes) != 1:
        return None
    dtype = dtypes.pop()
    size = sum(layer.params[k].size for _, layer, k in entries)
    flat_p, flat_g = memory.zeros(size, dtype), memory.zeros(size, dtype)
    keys, param_views, grad_views, offset = [], [], [], 0
    for prefix, layer, k in entries:
        p = layer.params[k]
        view = flat_p[offset : offset + p.size].reshape(p.shape)
        view[...] = p
        grad = flat_g[offset : offset + p.size].reshape(p.shape)
        grad[...] = layer.grads.get(k, 0)
        layer.params[k], layer.grads[k] = view, grad
        keys.append(prefix + k)
        param_views.append(view)
        grad_views.append(grad)
        offset += p.size
    return Flat(flat_p, flat_g, keys, param_views, grad_views)


def same_buffer_layout(params):
    """True when ``params`` (a FlatDict) is intact over its flat buffer."""
    return isinstance(params, FlatDict) and isinstance(params.flat, np.ndarray)
