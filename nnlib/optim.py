"""Optimizers: rules that turn gradients into parameter updates.

Introduced in Chapter 2 (plain SGD) and Chapter 7 (everything else).

The interface, shared by every optimizer in this file::

    opt = Adam(lr=1e-3)
    opt.step(params, grads)

``params`` and ``grads`` are dicts with the same keys (``"0.W"``, ``"0.b"``, ...) and
arrays of the same shapes. ``step`` updates every array in ``params`` *in place*, so the
layers that own them see the new values. Per-parameter state (velocities, moment
estimates, step counts) lives in ``opt.state[key]``, under the parameter's own key, so it
never depends on the order in which the dicts are iterated. ``lr`` is a plain attribute:
learning-rate schedules (``nnlib.schedules``) change it between steps.

The update rules are exactly PyTorch's (``torch.optim``) for the optimizers of the same
names, so a reader who moves on gets the same trajectory. They come in increasing order of
complexity: SGD (with momentum and Nesterov), AdaGrad, RMSProp, Adam, AdamW.

Four details are about speed, not maths.

- The element-wise updates use NumPy's ``out=`` and one scratch block (``tmp``) for
  intermediate results, so a step makes no temporary arrays; each rule's docstring gives
  the formula that the in-place lines compute.
- Every number that meets an array is a Python ``float`` (``float(self.lr)``, and
  ``math.sqrt``, not ``np.sqrt``, for Adam's bias correction). NumPy 2 takes a NumPy
  scalar such as ``np.float64(0.1)`` at its word: ``float32_array += np.float64(x)``
  computes in float64 and converts every number back, 5-6 times slower than
  ``+= 0.1``, which stays in float32.
- They run on one block of ``BLOCK`` numbers at a time (``_blocks``): Adam's 12 lines make
  12 passes over its arrays, and for a 784-512-256-10 network (535k parameters, 2.1 MB
  per array) those arrays do not fit in the processor's fast cache together, so every
  pass would fetch them again from slower memory; a block of each stays in the cache for
  all 12. The numbers are the same, element by element, and the speed page ("How fast is
  nnlib?") measures the gain.
- Float32 numbers below about 1.2e-38 are *denormal*, and x86 processors compute with
  them up to a hundred times more slowly. A weight whose gradient is zero for a while (a
  dead ReLU unit) would decay its running averages into that range and slow every step
  down. So every ``FLUSH_EVERY`` steps the averages of squared gradients are raised to at
  least ``TINY = 1e-30``, and the signed averages (SGD's velocity, Adam's first moment),
  which cannot be floored, have their entries smaller than ``TINY`` set to 0. Neither
  changes a result measurably: sqrt(1e-30) = 1e-15 is far below every eps, and lr * 1e-30
  moves no weight. Between two of these steps an average shrinks by at most its decay
  rate to the 15th power (0.999^15 for Adam), nowhere near the 1e-8 that takes 1e-30 down
  to a denormal. Measured on a 784-512-256-10 network whose momentum buffers had gone
  30-75 % denormal: an epoch took 3.4 s instead of 1.5 s with SGD and momentum; one
  multiply over 535k float32 numbers takes 0.06 ms, or 2.3 ms when a third of them are
  denormal.
"""

import math

import numpy as np

from . import memory

__all__ = ["SGD", "AdaGrad", "RMSProp", "Adam", "AdamW"]

TINY = 1e-30  # floor for averages of squared gradients: keeps float32 out of denormals
FLUSH_EVERY = 16  # steps between raising tiny squared averages to TINY and flushing momenta
BLOCK = 1 << 16  # numbers per block of an update: 256 kB per float32 array, cache-sized


def _blocks(*arrays):
    """Yield matching 1-D blocks of ``BLOCK`` numbers of equally shaped arrays, plus scratch.

    Each item is the arrays' blocks and, last, a scratch block of the first array's dtype
    for the update's intermediate results. Element-wise work gives the same numbers done
    block by block; a block of each array stays in the cache between the passes of an
    update, and the one small scratch array never leaves it. Arrays that are not all
    contiguous NumPy arrays (so have no 1-D view) are yielded whole, once, with a scratch
    array of their shape.
    """
    if not all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in arrays):
        yield (*arrays, np.empty(np.shape(arrays[0]), dtype=np.result_type(arrays[0])))
        return
    flat = [a.reshape(-1) for a in arrays]  # views, since every array is contiguous
    scratch = np.empty(min(BLOCK, flat[0].size), dtype=flat[0].dtype)
    for start in range(0, flat[0].size, BLOCK):
        blocks = [a[start : start + BLOCK] for a in flat]
        yield (*blocks, scratch[: blocks[0].size])


def _zeros_like(p):
    """Zeros shaped like ``p``, on huge pages when large (``nnlib.memory``)."""
    if isinstance(p, np.ndarray):
        return memory.zeros(p.size, p.dtype).reshape(p.shape)
    return np.zeros_like(p)


def _flush_tiny(a, scratch):
    """Set the entries of ``a`` with |a| < TINY to 0, in place (``scratch``: same shape)."""
    np.abs(a, out=scratch)
    a *= scratch >= TINY


def _rms_step(p, g, s, tmp, lr, eps):
    """p <- p - lr * g / (sqrt(s) + eps), in place (tmp: scratch): AdaGrad's and RMSProp's."""
    np.sqrt(s, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp


def _positive(owner, name, value):
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be positive (> 0), got {value!r}")


def _non_negative(owner, name, value):
    if not value >= 0:
        raise ValueError(f"{owner}: {name} must be non-negative (>= 0), got {value!r}")


def _check_grads(owner, params, grads):
    for key, p in params.items():
        if key not in grads:
            raise ValueError(
                f"{owner}.step: no gradient for parameter {key!r}; "
                f"grads has keys {sorted(grads)}, expected the keys of params {sorted(params)}"
            )
        if np.shape(grads[key]) != p.shape:
            raise ValueError(
                f"{owner}.step: gradient {key!r} has shape {np.shape(grads[key])}, "
                f"expected the parameter's shape {p.shape}"
            )


class Optimizer:
    """What every optimizer shares: a learning rate and per-parameter state."""

    def __init__(self, lr):
        _positive(type(self).__name__, "lr", lr)
        self.lr = lr
        self.state = {}  # parameter key -> dict of that parameter's state

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({args})"

    def _state(self, key, p, *names):
        """State of parameter ``key``: arrays ``names`` (zeros) and ``step`` (0) on first use."""
        if key not in self.state:
            self.state[key] = {name: _zeros_like(p) for name in names}
            self.state[key]["step"] = 0
        return self.state[key]

    def step(self, params, grads):
        """Update every array in ``params`` in place from the same-keyed ``grads``."""
        _check_grads(type(self).__name__, params, grads)
        for key, p in params.items():
            self.update(key, p, grads[key])

    def update(self, key, p, g):
        """Update one parameter ``p`` (in place) given its gradient ``g``."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    As in PyTorch, with g = grad + weight_decay * p:

        v <- momentum * v + g          (v = g on the first step)
        d  = g + momentum * v   if nesterov else   v   (d = g without momentum)
        p <- p - lr * d

    With momentum = 0 and no weight decay this is plain SGD, ``p <- p - lr * grad``
    (Chapter 2). The classic form v <- mu v - lr g, p <- p + v agrees with this one while
    lr is constant, and differs when lr changes (Chapter 7 shows why).
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        _non_negative("SGD", "momentum", momentum)
        _non_negative("SGD", "weight_decay", weight_decay)
        if nesterov and not momentum > 0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0, got momentum={momentum!r}")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, key, param, grad):
        mu, lr, wd = float(self.momentum), float(self.lr), float(self.weight_decay)
        st = self._state(key, param, "v") if mu else self._state(key, param)
        st["step"] += 1
        first, flush = st["step"] == 1, mu and st["step"] % FLUSH_EVERY == 0
        # The same lines on one cache-sized block at a time (see the module docstring);
        # without momentum there is no v, and g stands in for it, unused.
        for p, g, v, tmp in _blocks(param, grad, st["v"] if mu else grad):
            if wd:
                np.multiply(p, wd, out=tmp)
                tmp += g
                g = tmp  # g = grad + weight_decay * p
            if mu:
                if first:
                    v[...] = g  # v = g
                else:
                    v *= mu
                    v += g  # v = mu v + g
            if mu and self.nesterov:  # d = g + mu v:  p = p - lr g - lr mu v
                np.multiply(g, lr, out=tmp)
                p -= tmp
                np.multiply(v, lr * mu, out=tmp)
                p -= tmp
            elif mu:
                np.multiply(v, lr, out=tmp)
                p -= tmp  # p = p - lr v
            else:
                np.multiply(g, lr, out=tmp)
                p -= tmp  # p = p - lr g
            if flush:
                _flush_tiny(v, tmp)  # keep v out of denormals (see the module docstring)


class AdaGrad(Optimizer):
    """Per-coordinate step sizes from the sum of all past squared gradients.

        s <- s + g^2
        p <- p - lr * g / (sqrt(s) + eps)

    PyTorch's ``Adagrad`` with its defaults initial_accumulator_value=0, lr_decay=0.
    """

    def __init__(self, lr, eps=1e-10):
        super().__init__(lr)
        _positive("AdaGrad", "eps", eps)
        self.eps = eps

    def update(self, key, param, grad):
        st = self._state(key, param, "s")
        st["step"] += 1
        lr, eps, floor = float(self.lr), float(self.eps), st["step"] % FLUSH_EVERY == 0
        for p, g, s, tmp in _blocks(param, grad, st["s"]):  # cache-sized blocks, tmp: scratch
            np.multiply(g, g, out=tmp)
            s += tmp  # s = s + g^2
            if floor:
                np.maximum(s, TINY, out=s)  # keep s out of denormals
            _rms_step(p, g, s, tmp, lr, eps)  # p = p - lr g / (sqrt(s) + eps)


class RMSProp(Optimizer):
    """AdaGrad with a leaky average, so old gradients are forgotten.

        s <- alpha * s + (1 - alpha) * g^2
        p <- p - lr * g / (sqrt(s) + eps)

    PyTorch's ``RMSprop`` with its defaults (no momentum, not centered).
    """

    def __init__(self, lr, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: alpha must be in [0, 1), got {alpha!r}")
        _positive("RMSProp", "eps", eps)
        self.alpha, self.eps = alpha, eps

    def update(self, key, param, grad):
        st = self._state(key, param, "s")
        st["step"] += 1
        lr, eps, floor = float(self.lr), float(self.eps), st["step"] % FLUSH_EVERY == 0
        alpha = float(self.alpha)
        for p, g, s, tmp in _blocks(param, grad, st["s"]):  # cache-sized blocks, tmp: scratch
            s *= alpha
            np.multiply(g, g, out=tmp)
            tmp *= 1 - alpha
            s += tmp  # s = alpha s + (1 - alpha) g^2
            if floor:
                np.maximum(s, TINY, out=s)  # keep s out of denormals
            _rms_step(p, g, s, tmp, lr, eps)  # p = p - lr g / (sqrt(s) + eps)


class Adam(Optimizer):
    """Momentum (first moment m) plus RMSProp (second moment v), both bias-corrected.

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)          v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    t counts this parameter's steps from 1. As in PyTorch, eps is added outside the square
    root, to sqrt(v_hat).
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(lr)
        name = type(self).__name__
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        _positive(name, "eps", eps)
        self.betas, self.eps = tuple(betas), eps

    def update(self, key, param, grad):
        b1, b2 = map(float, self.betas)
        st = self._state(key, param, "m", "v")
        st["step"] += 1
        t = st["step"]
        # lr m_hat / (sqrt(v_hat) + eps) = (lr c2 / c1) m / (sqrt(v) + eps c2), with the bias
        # corrections c1 = 1 - b1^t and c2 = sqrt(1 - b2^t) moved onto scalars.
        c1, c2 = 1 - b1**t, math.sqrt(1 - b2**t)
        eps, scale = float(self.eps * c2), float(self.lr * c2 / c1)  # Python floats (docstring)
        flush = t % FLUSH_EVERY == 0
        # The same lines on one cache-sized block at a time (see the module docstring);
        # tmp is a scratch block for intermediate results.
        for p, g, m, v, tmp in _blocks(param, grad, st["m"], st["v"]):
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp  # m = b1 m + (1 - b1) g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp  # v = b2 v + (1 - b2) g^2
            if flush:
                np.maximum(v, TINY, out=v)  # keep v out of denormals (module docstring)
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= scale
            p -= tmp
            if flush:
                _flush_tiny(m, tmp)  # keep m out of denormals (see the module docstring)


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p (1 - lr * weight_decay), then an Adam step.

    Unlike adding weight_decay * p to the gradient (L2 regularisation, which Adam would
    divide by sqrt(v_hat) like any gradient), the decay here shrinks every weight by the
    same factor, whatever its gradient history.
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas=betas, eps=eps)
        _non_negative("AdamW", "weight_decay", weight_decay)
        self.weight_decay = weight_decay

    def update(self, key, p, g):
        p *= 1 - float(self.lr * self.weight_decay)
        super().update(key, p, g)
