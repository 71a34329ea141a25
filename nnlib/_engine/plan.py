"""How a ``Sequential`` runs with the engine: its layers as a list of faster steps.

``Plan(layers)`` turns each layer into a step with ``forward(x, training)`` and
``backward(dout, input_grad=True)``:

- ``Dense``: the same products, written into preallocated arrays; db = 1^T dout as a
  matrix-vector product (BLAS) rather than a sum.
- ``ReLU``: the 0/1 mask made and multiplied in place.
- ``Conv2D``: ``nnlib._engine.conv`` (batch-last storage, columns in slices).
- ``Conv2D, ReLU, MaxPool2D``: one fused step (``nnlib._engine.conv``'s docstring says
  why the result is the same).
- ``MaxPool2D``: a running maximum that keeps the input's memory order; tiling windows
  go backward in one pass.
- any other layer: its own ``forward`` and ``backward``.

``input_grad=False`` lets the first step skip dL/dX, the gradient with respect to the
data, which training never uses (it costs as much as a forward pass): ``train_step`` is
``nnlib.train.train_step`` with that one change.
"""

import numpy as np

from . import conv as econv


class LayerStep:
    """A layer the engine has no faster way for: its own forward and backward."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        return self.layer.forward(x, training=training)

    def backward(self, dout, input_grad=True):
        return self.layer.backward(dout)


class DenseStep:
    def __init__(self, layer):
        self.layer = layer
        self._ones = np.ones(0, dtype=layer.params["W"].dtype)

    def forward(self, x, training=False):
        layer = self.layer
        layer.output_shape(np.shape(x))
        self._x = x
        out = x @ layer.params["W"]
        out += layer.params["b"]
        return out

    def backward(self, dout, input_grad=True):
        grads, x = self.layer.grads, self._x
        if self._ones.shape[0] != dout.shape[0] or self._ones.dtype != dout.dtype:
            self._ones = np.ones(dout.shape[0], dtype=dout.dtype)
        np.matmul(x.T, dout, out=grads["W"])
        np.matmul(self._ones, dout, out=grads["b"])  # db = 1^T dout
        return dout @ self.layer.params["W"].T if input_grad else None


class ReLUStep:
    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        self._x = x
        return np.maximum(x, 0)

    def backward(self, dout, input_grad=True):
        dx = np.greater(self._x, 0, out=np.empty_like(dout))  # the mask, as 0.0 and 1.0
        return np.multiply(dout, dx, out=dx)


class ConvStep:
    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        layer = self.layer
        layer.output_shape(np.shape(x))
        self._x = x
        out, self._cols = econv.conv2d_forward(
            x, layer.params["W"], layer.params["b"], layer.stride, layer.padding
        )
        return out

    def backward(self, dout, input_grad=True):
        layer = self.layer
        dx, dW, db = econv.conv2d_backward(
            dout, self._x, self._cols, layer.params["W"], layer.stride, layer.padding,
            input_grad,
        )  # fmt: skip
        layer.grads["W"][...] = dW
        layer.grads["b"][...] = db
        return dx


class PoolStep:
    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        layer = self.layer
        layer.output_shape(np.shape(x))
        out = econv.maxpool_forward(x, layer.kernel_size, layer.stride)
        layer._x, layer._out = x, out  # the readable backward's cache, for ragged windows
        return out

    def backward(self, dout, input_grad=True):
        layer = self.layer
        k, x = layer.kernel_size, layer._x
        if econv.maxpool_tiles(x.shape, k, layer.stride):
            return econv.maxpool_backward_tiles(dout, x, layer._out, k)
        return layer.backward(dout)


class ConvReLUPoolStep:
    """Conv2D, ReLU, MaxPool2D fused: pool the convolution, then add b and apply ReLU."""

    def __init__(self, conv, relu, pool):
        self.layer, self.pool = conv, PoolStep(pool)

    def forward(self, x, training=False):
        conv = self.layer
        conv.output_shape(np.shape(x))
        self._x = x
        z, self._cols = econv.conv2d_forward(x, conv.params["W"], None, conv.stride, conv.padding)
        out = np.add(self.pool.forward(z), conv.params["b"][:, None, None])
        np.maximum(out, 0, out=out)
        self._out = out
        return out

    def backward(self, dout, input_grad=True):
        conv = self.layer
        dpooled = np.greater(self._out, 0, out=np.empty_like(dout))
        dpooled *= dout  # through ReLU, on the small array
        dz = self.pool.backward(dpooled)
        dx, dW, _ = econv.conv2d_backward(
            dz, self._x, self._cols, conv.params["W"], conv.stride, conv.padding, input_grad,
            bias_grad=False,
        )  # fmt: skip
        conv.grads["W"][...] = dW
        # db sums what reaches the bias, added after pooling: dpooled, 4x smaller than dz.
        dpooled_mat = econv._batch_last(dpooled).reshape(conv.out_channels, -1)
        np.add.reduce(dpooled_mat, axis=1, out=conv.grads["b"])
        return dx


class FlattenStep:
    """Flatten, with dx handed back stored like x (batch-last after a convolution)."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        self.layer.output_shape(np.shape(x))
        self._x = x
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, input_grad=True):
        dx = dout.reshape(self._x.shape)
        if self._x.flags.c_contiguous:
            return dx
        out = np.empty_like(self._x)  # same shape and memory order as x
        out[...] = dx
        return out


def _steps(layers):
    from ..conv import Conv2D, MaxPool2D
    from ..layers import Dense, Flatten, ReLU

    simple = {Dense: DenseStep, ReLU: ReLUStep, Conv2D: ConvStep, MaxPool2D: PoolStep,
              Flatten: FlattenStep}  # fmt: skip
    steps, i = [], 0
    while i < len(layers):
        kinds = [type(layer) for layer in layers[i : i + 3]]
        if kinds == [Conv2D, ReLU, MaxPool2D]:
            steps.append(ConvReLUPoolStep(*layers[i : i + 3]))
            steps[-1].index, i = i, i + 3
            continue
        steps.append(simple.get(type(layers[i]), LayerStep)(layers[i]))
        steps[-1].index, i = i, i + 1
    return steps


class Plan:
    """The engine's steps for a list of layers."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.steps = _steps(self.layers)

    def is_for(self, layers):
        return len(layers) == len(self.layers) and all(a is b for a, b in zip(layers, self.layers))

    def backward(self, dout, input_grad=True):
        for i in reversed(range(len(self.steps))):
            dout = self.steps[i].backward(dout, input_grad=input_grad or i > 0)
        return dout


def train_step(model, loss, optimizer, X, y):
    """``nnlib.train.train_step``, skipping dL/dX where the model runs a plan, with the
    engine's softmax cross-entropy (``nnlib._engine.losses``) for ``SoftmaxCrossEntropy``."""
    from ..losses import SoftmaxCrossEntropy
    from ..train import TrainingDiverged
    from .losses import softmax_cross_entropy

    out = model.forward(X, training=True)
    if type(loss) is SoftmaxCrossEntropy and out.ndim == 2:
        value, dout = softmax_cross_entropy(out, y)
    else:
        value, dout = loss.forward(out, y), None
    if not np.isfinite(value):
        raise TrainingDiverged(f"the loss became {value}")
    dout = loss.backward() if dout is None else dout
    plan = getattr(model, "_ran_plan", None)
    if plan is not None:
        plan.backward(dout, input_grad=False)
    else:
        model.backward(dout)
    optimizer.step(model.params, model.grads)
    return value, out
