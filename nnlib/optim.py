"""Optimizers: rules that turn gradients into parameter updates.

Introduced in Chapter 2 (plain SGD) and Chapter 7 (everything else).

The interface, shared by every optimizer in this file::

    opt.step(params, grads)

``params`` and ``grads`` are dicts with the same keys (``"0.W"``, ``"0.b"``, ...).
``step`` updates every array in ``params`` *in place*, so the layers that own them see the
new values. Per-parameter state (velocities, moment estimates) lives in dicts under the
same keys, so it never depends on the order in which the dicts are iterated. ``lr`` is a
plain attribute: learning-rate schedules change it between steps.

The update rules are exactly PyTorch's (``torch.optim``) for the optimizers of the same
names, so a reader who moves on gets the same trajectory. They come in increasing order of
complexity. The element-wise updates use NumPy's ``out=`` to work in place: the formulas
are the same, without a temporary array per operation.
"""

import numpy as np

__all__ = ["SGD", "AdaGrad", "RMSProp", "Adam", "AdamW"]


def _positive(owner, name, value):
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value!r}")


def _non_negative(owner, name, value):
    if not value >= 0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value!r}")


def _check_grads(owner, params, grads):
    for key, p in params.items():
        if key not in grads:
            raise ValueError(f"{owner}.step: no gradient for parameter {key!r}")
        if grads[key].shape != p.shape:
            raise ValueError(
                f"{owner}.step: gradient {key!r} has shape {grads[key].shape}, "
                f"but the parameter has shape {p.shape}"
            )


class Optimizer:
    """What every optimizer shares: a learning rate and per-parameter state."""

    def __init__(self, lr):
        _positive(type(self).__name__, "lr", lr)
        self.lr = lr
        self.state = {}  # key -> dict of arrays for that parameter

    def _state(self, key, p, *names):
        """The state arrays ``names`` of parameter ``key``, created as zeros on first use."""
        if key not in self.state:
            self.state[key] = {name: np.zeros_like(p) for name in names}
        return self.state[key]

    def step(self, params, grads):
        _check_grads(type(self).__name__, params, grads)
        for key, p in params.items():
            self.update(key, p, grads[key])

    def update(self, key, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    As in PyTorch, with g = grad + weight_decay * p:

        v <- momentum * v + g          (v = g on the first step)
        d  = g + momentum * v   if nesterov else   v
        p <- p - lr * d

    With momentum = 0 this is plain SGD, ``p <- p - lr * grad`` (Chapter 2).
    The classic form v <- mu v - lr g, p <- p + v agrees with this one while lr is
    constant (Chapter 7 shows why).
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        _non_negative("SGD", "momentum", momentum)
        _non_negative("SGD", "weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, key, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            first = key not in self.state
            v = self._state(key, p, "v")["v"]
            if first:
                v[...] = g
            else:
                v *= self.momentum
                v += g
            g = g + self.momentum * v if self.nesterov else v
        p -= self.lr * g


class AdaGrad(Optimizer):
    """Per-coordinate step sizes from the sum of all past squared gradients.

    s <- s + g^2
    p <- p - lr * g / (sqrt(s) + eps)
    """

    def __init__(self, lr, eps=1e-10):
        super().__init__(lr)
        _positive("AdaGrad", "eps", eps)
        self.eps = eps

    def update(self, key, p, g):
        st = self._state(key, p, "s", "tmp")
        s, tmp = st["s"], st["tmp"]
        s += g * g
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp


class RMSProp(Optimizer):
    """AdaGrad with a leaky average, so old gradients are forgotten.

    s <- alpha * s + (1 - alpha) * g^2
    p <- p - lr * g / (sqrt(s) + eps)
    """

    def __init__(self, lr, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: alpha must be in [0, 1), got {alpha!r}")
        _positive("RMSProp", "eps", eps)
        self.alpha, self.eps = alpha, eps

    def update(self, key, p, g):
        st = self._state(key, p, "s", "tmp")
        s, tmp = st["s"], st["tmp"]
        s *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.alpha
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp


class Adam(Optimizer):
    """Momentum (first moment m) plus RMSProp (second moment v), both bias-corrected.

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)          v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    v is kept at or above a tiny floor (1e-30): float32 values below ~1e-38 become
    denormal numbers, which x86 processors handle up to a hundred times more slowly, and
    a gradient that is exactly zero for a while would otherwise drive v there. The floor
    changes nothing measurable, since sqrt(1e-30) = 1e-15 is far below eps.
    """

    _V_FLOOR = 1e-30

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(lr)
        name = type(self).__name__
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        _positive(name, "eps", eps)
        self.betas, self.eps = tuple(betas), eps
        self.t = {}  # steps taken, per parameter

    def update(self, key, p, g):
        b1, b2 = self.betas
        st = self._state(key, p, "m", "v", "tmp")
        m, v, tmp = st["m"], st["v"], st["tmp"]
        t = self.t[key] = self.t.get(key, 0) + 1
        m *= b1
        m += (1 - b1) * g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.maximum(v, self._V_FLOOR, out=v)
        # p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), rearranged in place:
        np.sqrt(v, out=tmp)
        tmp /= np.sqrt(1 - b2**t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1 - b1**t)
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p (1 - lr * weight_decay), then an Adam step.

    Unlike adding weight_decay * p to the gradient (L2 regularisation), the decay here is
    not rescaled by Adam's per-coordinate step sizes.
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas=betas, eps=eps)
        _non_negative("AdamW", "weight_decay", weight_decay)
        self.weight_decay = weight_decay

    def update(self, key, p, g):
        p *= 1 - self.lr * self.weight_decay
        super().update(key, p, g)
