"""Automatic differentiation: a small reverse-mode engine on NumPy arrays. Introduced in Chapter 10.

A ``Tensor`` holds a NumPy array, ``data``. Every operation on tensors returns a new tensor
that remembers its inputs and, for each input, its *vector-Jacobian product* (VJP): the
function that turns ``dout``, the gradient of the loss with respect to the operation's
output, into the gradient with respect to that input. ``loss.backward()`` sorts the
recorded graph so that every tensor comes after the tensors it was computed from, then
walks it backwards, calling the VJPs and adding up the gradients that reach a tensor along
different paths. Afterwards every tensor in the graph that requires a gradient holds
``grad`` = dL/d(tensor), an array of its own shape.

Each operation below is written as its forward computation followed by one VJP per input,
side by side. Broadcasting is undone in one place, ``unbroadcast``, because its VJP is the
same for every operation: sum over the axes that were broadcast.

Gradients accumulate: a second ``backward`` adds to ``grad`` (as in PyTorch). Reset a
tensor's gradient with ``t.zero_grad()`` (which sets ``t.grad = None``) before the next step.
"""

import numpy as np

from .activations import sigmoid as _sigmoid

__all__ = ["Tensor", "record", "unbroadcast", "topological_order", "log_softmax", "cross_entropy"]


class Tensor:
    """An array that remembers how it was computed. Introduced in Chapter 10.

    Args:
        data: array-like of any shape; integers become float64, floats keep their dtype.
        requires_grad: whether ``backward`` should compute dL/d(this tensor). Set it on
            parameters; a tensor computed from one that requires a gradient requires one too.

    Attributes: ``data`` (the array), ``grad`` (None, or after ``backward`` an array of the
    shape of ``data``), ``requires_grad``, and the record of the operation that made it:
    ``_op`` (its name), ``_parents`` (its input tensors), ``_vjps`` (one VJP per input).
    """

    # NumPy must leave `array * tensor` to Tensor.__rmul__ instead of looping over elements.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._op, self._parents, self._vjps = "", (), ()

    def __repr__(self):
        op = f", op={self._op!r}" if self._op else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=8)}{op}{grad})"

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self):
        """Forget the accumulated gradient: ``grad`` becomes None."""
        self.grad = None

    def _lift(self, other):
        """A Python number or an array as a constant tensor (numbers take our dtype)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    # ---- arithmetic: each operation's forward, then one VJP per input -----------------

    def __add__(self, other):
        other = self._lift(other)
        return record("+", self.data + other.data,
                      (self, lambda dout: dout),
                      (other, lambda dout: dout))  # fmt: skip

    def __mul__(self, other):
        other = self._lift(other)
        return record("*", self.data * other.data,
                      (self, lambda dout: dout * other.data),
                      (other, lambda dout: dout * self.data))  # fmt: skip

    def __neg__(self):
        return record("neg", -self.data, (self, lambda dout: -dout))

    def __sub__(self, other):
        other = self._lift(other)
        return record("-", self.data - other.data,
                      (self, lambda dout: dout),
                      (other, lambda dout: -dout))  # fmt: skip

    def __truediv__(self, other):
        other = self._lift(other)
        return record("/", self.data / other.data,
                      (self, lambda dout: dout / other.data),
                      (other, lambda dout: -dout * self.data / other.data**2))  # fmt: skip

    def __pow__(self, p):
        if isinstance(p, Tensor) or not np.isscalar(p):
            raise TypeError(
                f"Tensor ** p: the exponent must be a constant Python number, got "
                f"{type(p).__name__}; write exp(p * log(x)) for a variable exponent"
            )
        return record(f"**{p}", self.data**p,
                      (self, lambda dout: dout * p * self.data ** (p - 1)))  # fmt: skip

    def __matmul__(self, other):
        other = self._lift(other)
        if self.data.ndim < 2 or other.data.ndim < 2:
            raise ValueError(
                f"Tensor @ Tensor: both operands must have at least 2 dimensions, got shapes "
                f"{self.shape} and {other.shape}; reshape a vector to (1, D) or (D, 1)"
            )
        # With A (N, D), B (D, M): d(A B)/dA is dout B^T and d(A B)/dB is A^T dout (Chapter 3).
        return record("@", self.data @ other.data,
                      (self, lambda dout: dout @ np.swapaxes(other.data, -1, -2)),
                      (other, lambda dout: np.swapaxes(self.data, -1, -2) @ dout))  # fmt: skip

    # Python numbers and arrays on the left: 2 * x, 1 - x, X @ W.
    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __rmatmul__(self, other):
        return self._lift(other) @ self

    # ---- element-wise functions ---------------------------------------------------------

    def exp(self):
        out = np.exp(self.data)
        return record("exp", out, (self, lambda dout: dout * out))

    def log(self):
        return record("log", np.log(self.data), (self, lambda dout: dout / self.data))

    def tanh(self):
        out = np.tanh(self.data)
        return record("tanh", out, (self, lambda dout: dout * (1 - out**2)))

    def sigmoid(self):
        out = _sigmoid(self.data)
        return record("sigmoid", out, (self, lambda dout: dout * out * (1 - out)))

    def relu(self):
        return record("relu", np.maximum(self.data, 0),
                      (self, lambda dout: dout * (self.data > 0)))  # fmt: skip

    # ---- reductions and shapes ----------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple, or None for all). VJP: copy dout back."""

        def vjp(dout):
            if axis is not None and not keepdims:  # put back the summed axes, as size 1
                dout = np.expand_dims(dout, axis)
            return np.broadcast_to(dout, self.shape)

        return record("sum", self.data.sum(axis=axis, keepdims=keepdims), (self, vjp))

    def mean(self, axis=None, keepdims=False):
        """The sum divided by the number of elements summed: no VJP of its own."""
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.data.size / self.data.size)

    def reshape(self, *shape):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; -1 infers one dimension."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return record("reshape", self.data.reshape(shape),
                      (self, lambda dout: dout.reshape(self.shape)))  # fmt: skip

    @property
    def T(self):
        """The transpose of a 2-D tensor."""
        if self.data.ndim != 2:
            raise ValueError(f"Tensor.T: expected a 2-D tensor, got shape {self.shape}")
        return record("T", self.data.T, (self, lambda dout: dout.T))

    def __getitem__(self, index):
        """Indexing with integers, slices and integer arrays, as NumPy does.

        VJP: dout is added back into the positions that were read. np.add.at adds once
        per occurrence, so an index that appears twice gets its gradient twice.
        """

        def vjp(dout):
            dx = np.zeros_like(self.data)
            np.add.at(dx, index, dout)
            return dx

        return record("index", self.data[index], (self, vjp))

    # ---- the reverse sweep --------------------------------------------------------------

    def backward(self, grad=None):
        """Add dL/dt to ``t.grad`` for every tensor t in the graph that requires a gradient.

        ``grad`` is dL/d(this tensor): by default 1, which needs a tensor with one element
        (the loss); for any other tensor pass an array of its shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require a gradient; none of the tensors it "
                "was computed from was created with requires_grad=True"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a scalar (one element), but this "
                    f"tensor has shape {self.shape}; pass grad, an array of that shape"
                )
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(
                f"backward(grad): grad must have the tensor's shape {self.shape}, got {grad.shape}"
            )
        grads = {self: grad}  # dL/dt for every tensor t reached so far, in this sweep
        for node in reversed(topological_order(self)):
            if not node.requires_grad:
                continue  # a constant: nothing to compute
            dout = grads.pop(node)  # complete: every use of node came later in the order
            node.grad = dout.copy() if node.grad is None else node.grad + dout
            for parent, vjp in zip(node._parents, node._vjps):
                if parent.requires_grad:
                    g = unbroadcast(vjp(dout), parent.shape)
                    if g.shape != parent.shape:
                        raise ValueError(
                            f"backward(): the VJP of {node._op!r} returned a gradient of shape "
                            f"{g.shape} for an input of shape {parent.shape}"
                        )
                    # A tensor used several times gets the sum of its gradients.
                    grads[parent] = grads[parent] + g if parent in grads else g


def record(op, data, *inputs):
    """The tensor ``data`` computed by the operation ``op`` from ``inputs``.

    inputs: ``(tensor, vjp)`` pairs, where ``vjp(dout)`` returns dL/d(tensor) given ``dout``
    = dL/d(output) (an array of the output's shape). The result records its inputs and their
    VJPs only if one of them requires a gradient; otherwise it is a constant.
    """
    out = Tensor(data)
    if any(t.requires_grad for t, _ in inputs):
        out.requires_grad = True
        out._op = op
        out._parents = tuple(t for t, _ in inputs)
        out._vjps = tuple(vjp for _, vjp in inputs)
    return out


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added to an input of ``shape``.

    Broadcasting copies an input along new leading axes and along its axes of size 1; the
    VJP of a copy is a sum. E.g. b of shape (M,) added to Z of shape (N, M): db sums dout
    over its N rows, the column sum of Chapter 3.
    """
    grad = np.asarray(grad)
    while grad.ndim > len(shape):  # new leading axes
        grad = grad.sum(axis=0)
    for axis, (size, grad_size) in enumerate(zip(shape, grad.shape)):
        if size == 1 and grad_size != 1:  # axes of size 1, stretched
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def topological_order(root):
    """Every tensor that ``root`` was computed from, and root itself, inputs before outputs.

    A depth-first search from root: a tensor is appended after all of its parents. (A loop
    with its own stack instead of recursion, so long chains do not hit Python's limit.)
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))  # comes back once its parents are in order
            stack.extend((parent, False) for parent in node._parents)
    return order


def log_softmax(x, axis=-1):
    """log softmax(x) along ``axis``, built from the operations above.

    Subtracting the maximum (a constant, not part of the graph) keeps exp from overflowing
    and changes nothing: log softmax(x - c) = log softmax(x). x: Tensor, any shape.
    """
    shifted = x - x.data.max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[n, labels[n]], as a Tensor.

    logits: Tensor (N, C); labels: integers (N,) in [0, C). The same loss as
    ``nnlib.losses.SoftmaxCrossEntropy`` and PyTorch's ``cross_entropy``.
    """
    labels = np.asarray(labels)
    if logits.data.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C), got {logits.shape}")
    N, C = logits.shape
    if N == 0:
        raise ValueError("cross_entropy: got an empty batch (N = 0)")
    if labels.shape != (N,) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"cross_entropy: expected integer labels of shape ({N},), got {labels.dtype} "
            f"labels of shape {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= C:
        raise ValueError(
            f"cross_entropy: labels must be in [0, {C - 1}] for {C} classes, got values "
            f"from {labels.min()} to {labels.max()}"
        )
    return -log_softmax(logits, axis=1)[np.arange(N), labels].mean()
