"""Learning-rate schedules: the learning rate as a function of time. Introduced in Chapter 7.

A schedule is a ``fit`` callback. On the first call it remembers the optimizer's learning
rate as ``base_lr``; afterwards it sets ``optimizer.lr`` before every epoch (or, for
warm-up, before every batch). ``lr_at(t, base_lr)`` gives the same value without an
optimizer, for plotting. The formulas are PyTorch's ``torch.optim.lr_scheduler`` ones
(the closed forms). A schedule keeps the ``base_lr`` of the first optimizer it sees: make
a new schedule for every training run.

    fit(model, loss, SGD(lr=0.1), X, y, epochs=10, batch_size=64,
        callbacks=[CosineAnnealingLR(T_max=10)])
"""

import math

from ._checks import check_size, is_number

__all__ = ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup"]


def _check_number(owner, name, value, low, strict):
    """A finite real number above ``low`` (or equal to it, unless ``strict``)."""
    if not (is_number(value) and (value > low if strict else value >= low)):
        bound = f"> {low}" if strict else f">= {low}"
        kind = "a positive number" if (strict and low == 0) else "a number"
        raise ValueError(f"{owner}: {name} must be {kind} ({bound}), got {value!r}")


class Schedule:
    """Per-epoch schedule: sets optimizer.lr = lr_at(epoch, base_lr) at each epoch start."""

    base_lr = None

    def lr_at(self, epoch, base_lr):
        raise NotImplementedError

    def on_epoch_begin(self, epoch, optimizer):
        if self.base_lr is None:
            self.base_lr = optimizer.lr
        optimizer.lr = self.lr_at(epoch, self.base_lr)


class StepLR(Schedule):
    """lr = base_lr * gamma ** (epoch // step_size): drop by gamma every step_size epochs."""

    def __init__(self, step_size, gamma=0.1):
        check_size("StepLR", step_size=step_size)
        _check_number("StepLR", "gamma", gamma, 0, strict=True)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, gamma):
        _check_number("ExponentialLR", "gamma", gamma, 0, strict=True)
        self.gamma = gamma

    def lr_at(self, epoch, base_lr):
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(Schedule):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2."""

    def __init__(self, T_max, eta_min=0.0):
        check_size("CosineAnnealingLR", T_max=T_max)
        _check_number("CosineAnnealingLR", "eta_min", eta_min, 0, strict=False)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch, base_lr):
        return (
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        )


class LinearWarmup:
    """Ramp the learning rate up linearly over the first ``warmup_steps`` batches.

    lr = lr_epoch * min(1, (step + 1) / warmup_steps), where lr_epoch is what the wrapped
    per-epoch schedule ``after`` gives (or the base rate, if there is none). Warm-up keeps
    the first, largest, noisiest steps of Adam and of big batches from blowing up.
    """

    def __init__(self, warmup_steps, after=None):
        check_size("LinearWarmup", warmup_steps=warmup_steps)
        if after is not None and not isinstance(after, Schedule):
            raise TypeError(
                f"LinearWarmup: after must be a per-epoch schedule such as StepLR(10), or "
                f"None, got {after!r}"
            )
        self.warmup_steps, self.after = warmup_steps, after
        self.base_lr, self._epoch = None, 0

    def lr_at(self, step, base_lr, epoch=0):
        lr = self.after.lr_at(epoch, base_lr) if self.after else base_lr
        return lr * min(1.0, (step + 1) / self.warmup_steps)

    def on_epoch_begin(self, epoch, optimizer):
        if self.base_lr is None:
            self.base_lr = optimizer.lr
        self._epoch = epoch

    def on_batch_begin(self, step, optimizer):
        if self.base_lr is None:
            self.base_lr = optimizer.lr
        optimizer.lr = self.lr_at(step, self.base_lr, self._epoch)
