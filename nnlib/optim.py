"""Optimizers: rules that turn gradients into parameter updates.

Introduced in Chapter 2 (plain SGD) and Chapter 7 (everything else).

The interface, shared by every optimizer in this file::

    opt = Adam(lr=1e-3)
    opt.step(model.params, model.grads)

``params`` and ``grads`` are dicts with the same keys (``"0.W"``, ``"0.b"``, ...) and
arrays of the same shapes. ``step`` updates every array in ``params`` *in place*, so the
layers that own them see the new values. Each rule is one method, ``update(p, g, state)``,
for one parameter ``p``, its gradient ``g`` and its state: ``opt.state[key]``, a dict of
arrays (velocities, moment estimates) and the parameter's step count ``"step"``, under the
parameter's own key. ``lr`` is a plain attribute: learning-rate schedules
(``nnlib.schedules``) change it between steps.

An optimizer belongs to one model: its state describes that model's parameters. Stepping
it with another model's parameters raises an error; ``reset()`` forgets the state, so the
optimizer can start afresh (on any model).

The names, arguments and update rules are PyTorch's (``torch.optim``), so a reader who
moves on gets the same trajectory. They come in increasing order of complexity: SGD (with
momentum and Nesterov), Adagrad, RMSprop, Adam, AdamW.

When a network keeps all its parameters in one contiguous buffer (``Sequential`` does),
``step`` lets ``nnlib._engine`` apply the same rule to the whole buffer at once, in
cache-sized blocks; the numbers are the same (the tests check it), only faster. The speed
page explains how. ``nnlib.set_engine(False)`` runs the rules below, key by key.
"""

import warnings
from collections.abc import Mapping

import numpy as np

from . import _engine
from ._atomic import uninterrupted
from ._checks import is_number

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "AdaGrad", "RMSProp"]


def _positive(owner, name, value):
    if not (is_number(value) and value > 0):
        raise ValueError(f"{owner}: {name} must be positive (> 0), got {value!r}")


def _non_negative(owner, name, value):
    if not (is_number(value) and value >= 0):
        raise ValueError(f"{owner}: {name} must be non-negative (>= 0), got {value!r}")


def _fraction(owner, name, value):
    """A number in [0, 1), such as a decay rate."""
    if not (is_number(value) and 0 <= value < 1):
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")


def _check_array(owner, what, key, a):
    """Parameters and gradients are float arrays; parameters float32 or float64, writable.

    float16 is refused: an eps of 1e-8 or 1e-10 is 0 in float16, and 0 / 0 is NaN.
    """
    codes = "fd" if what == "parameter" else "efd"  # float32 and float64 (and float16)
    if not isinstance(a, np.ndarray) or a.dtype.char not in codes:
        floats = " or ".join(np.dtype(code).name for code in codes)
        got = f"dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(
            f"{owner}.step: {what} {key!r} must be a NumPy array of {floats}, got {got}"
        )
    if what == "parameter" and not a.flags.writeable:
        raise ValueError(f"{owner}.step: parameter {key!r} is read-only; it is updated in place")


class Optimizer:
    """What every optimizer shares: a learning rate, per-parameter state and ``step``."""

    state_names = ()  # the arrays of each parameter's state, zeros at the start

    def __init__(self, lr):
        _positive(type(self).__name__, "lr", lr)
        self.lr = float(lr)
        self.state = {}  # parameter key -> {"step": int, name: array like the parameter}
        self._owner = {}  # parameter key -> the array the state belongs to

    def __repr__(self):
        hidden = ("state", "state_names")
        args = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k not in hidden and k[0] != "_"
        )
        return f"{type(self).__name__}({args})"

    def reset(self):
        """Forget every parameter's state (step counts, moments), e.g. to train a new model."""
        self.state, self._owner = {}, {}

    def step(self, params, grads):
        """Update every array in ``params`` in place from the same-keyed ``grads``.

        A Ctrl-C during the step waits until every parameter has been updated, so a step
        is never left half done (``nnlib._atomic``).
        """
        with uninterrupted():
            self._check(params, grads)
            if not _engine.optimizer_step(self, params, grads):  # False: not for the engine
                for key, p in params.items():
                    self.state[key]["step"] += 1
                    self.update(p, grads[key], self.state[key])

    def update(self, p, g, state):
        """Update one parameter ``p`` (in place) given its gradient ``g`` and its state."""
        raise NotImplementedError

    def _check(self, params, grads):
        """Same keys and shapes, and parameters this optimizer's state belongs to."""
        name = type(self).__name__
        if not (isinstance(params, Mapping) and isinstance(grads, Mapping)):
            raise TypeError(
                f"{name}.step: expected two dicts, params and grads (such as model.params and "
                f"model.grads), got {type(params).__name__} and {type(grads).__name__}"
            )
        for key, p in params.items():
            _check_array(name, "parameter", key, p)
            if key not in grads:
                raise ValueError(
                    f"{name}.step: no gradient for parameter {key!r}; grads has keys "
                    f"{sorted(grads)}, expected the keys of params {sorted(params)}"
                )
            _check_array(name, "gradient", key, grads[key])
            if np.shape(grads[key]) != np.shape(p):
                raise ValueError(
                    f"{name}.step: gradient {key!r} has shape {np.shape(grads[key])}, "
                    f"expected the parameter's shape {np.shape(p)}"
                )
            if key in self._owner and self._owner[key] is not p:
                raise ValueError(
                    f"{name}.step: parameter {key!r} is not the array this optimizer has been "
                    "updating: its state (step count, moments) belongs to another model. Make "
                    "a new optimizer for a new model, or call reset() to start afresh."
                )
        if any(key not in self.state for key in params):
            _engine.allocate_state(self, params)  # zeros, flat where the params are
            for key, p in params.items():
                if key not in self.state:
                    self.state[key] = {n: np.zeros_like(p) for n in self.state_names}
                    self.state[key]["step"] = 0
                self._owner[key] = p


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    As in PyTorch (v starts at 0, so the first step sets v = g):

        g <- g + weight_decay * p
        v <- momentum * v + g
        p <- p - lr * (g + momentum * v)   (Nesterov)   or   p <- p - lr * v

    With momentum = 0 and no weight decay this is plain SGD, ``p <- p - lr * g``
    (Chapter 2). The classic form u <- mu u - lr g, p <- p + u agrees with this one while
    lr is constant, and differs when lr changes (Chapter 7 shows why).
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        _non_negative("SGD", "momentum", momentum)
        _non_negative("SGD", "weight_decay", weight_decay)
        if nesterov and not momentum > 0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0, got momentum={momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.state_names = ("v",) if momentum else ()

    def update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            v = state["v"]
            v[...] = self.momentum * v + g
            g = g + self.momentum * v if self.nesterov else v
        p -= self.lr * g


class Adagrad(Optimizer):
    """Per-coordinate step sizes from the sum of all past squared gradients.

        s <- s + g^2
        p <- p - lr * g / (sqrt(s) + eps)

    PyTorch's ``Adagrad`` with its defaults initial_accumulator_value=0, lr_decay=0.
    """

    state_names = ("s",)

    def __init__(self, lr, eps=1e-10):
        super().__init__(lr)
        _positive("Adagrad", "eps", eps)
        self.eps = float(eps)

    def update(self, p, g, state):
        s = state["s"]
        s += g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class RMSprop(Optimizer):
    """Adagrad with a leaky average, so old gradients are forgotten.

        s <- alpha * s + (1 - alpha) * g^2
        p <- p - lr * g / (sqrt(s) + eps)

    PyTorch's ``RMSprop`` with its defaults (no momentum, not centered).
    """

    state_names = ("s",)

    def __init__(self, lr, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        _fraction("RMSprop", "alpha", alpha)
        _positive("RMSprop", "eps", eps)
        self.alpha, self.eps = float(alpha), float(eps)

    def update(self, p, g, state):
        s = state["s"]
        s[...] = self.alpha * s + (1 - self.alpha) * (g * g)
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Momentum (first moment m) plus RMSprop (second moment v), both bias-corrected.

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)          v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    t counts this parameter's steps from 1. As in PyTorch, eps is added outside the square
    root, to sqrt(v_hat).
    """

    state_names = ("m", "v")

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(lr)
        name = type(self).__name__
        pair = isinstance(betas, (tuple, list)) and len(betas) == 2
        if not (pair and all(is_number(b) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        _positive(name, "eps", eps)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)

    def update(self, p, g, state):
        b1, b2, t = *self.betas, state["step"]
        m, v = state["m"], state["v"]
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * (g * g)
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p (1 - lr * weight_decay), then an Adam step.

    Unlike adding weight_decay * p to the gradient (L2 regularisation, which Adam would
    divide by sqrt(v_hat) like any gradient), the decay here shrinks every weight by the
    same factor, whatever its gradient history.
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas=betas, eps=eps)
        _non_negative("AdamW", "weight_decay", weight_decay)
        self.weight_decay = float(weight_decay)

    def update(self, p, g, state):
        p *= 1 - self.lr * self.weight_decay
        super().update(p, g, state)


def _deprecated(new):
    """The book's earlier spelling of a PyTorch name, kept working with a warning."""

    class Alias(new):
        def __init__(self, *args, **kwargs):
            warnings.warn(
                f"nnlib.optim.{type(self).__name__} is now spelled {new.__name__}, as in "
                "PyTorch; the old name will be removed",
                DeprecationWarning,
                stacklevel=2,
            )
            super().__init__(*args, **kwargs)

    return Alias


AdaGrad = type("AdaGrad", (_deprecated(Adagrad),), {"__doc__": "Deprecated: use Adagrad."})
RMSProp = type("RMSProp", (_deprecated(RMSprop),), {"__doc__": "Deprecated: use RMSprop."})
