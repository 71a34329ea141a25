"""nnlib's engine: the same computations as the readable code, arranged to run faster.

The chapters include the readable code (``nnlib.layers``, ``nnlib.conv``, ``nnlib.optim``,
``nnlib.train``): it is what the derivations say, line by line. Everything here is about
speed alone, and each piece is tested equal to the readable code it stands in for, bit
for bit where the arithmetic is the same and to a stated tolerance where the order of a
sum changes (``tests/test_engine.py``). The speed page ("How fast is nnlib?") measures
what each piece buys.

- ``memory``: big arrays on 2 MB "huge" memory pages.
- ``flat``: a network's parameters and gradients in one contiguous buffer each, so an
  optimizer updates the whole network in one pass instead of one per array.
- ``optim``: the optimizers' rules over that buffer in cache-sized blocks, with denormal
  numbers flushed away.
- ``conv``: convolution with the images stored batch-last, im2col in cache-sized slices,
  max pooling over tiling windows in one pass.
- ``losses``: softmax cross-entropy for training steps, with fewer passes and no
  denormal probabilities.
- ``plan``: how a ``Sequential`` runs its layers through all this, fusing ``Conv2D``,
  ``ReLU``, ``MaxPool2D`` into one step and skipping the gradient with respect to the data
  in training (``train_step``).

Switch it off with ``nnlib.set_engine(False)`` or the environment variable
``NNLIB_ENGINE=0``: then every network runs the readable code alone. A network built while
the engine is off keeps plain arrays (no flat buffers) for its whole life.
"""

import os

__all__ = [
    "set_engine",
    "engine_enabled",
    "FlatDict",
    "flatten",
    "allocate_state",
    "optimizer_step",
    "Plan",
    "train_step",
]

_enabled = os.environ.get("NNLIB_ENGINE", "1").strip().lower() not in ("0", "off", "false", "no")


def engine_enabled():
    """True when nnlib runs the engine's fast paths (the default)."""
    return _enabled


def set_engine(enabled):
    """Switch the engine on (True) or off (False); return the previous setting.

    With the engine off, networks built from then on keep their parameters in plain
    arrays, optimizers run their readable ``update`` key by key, and every layer runs its
    own ``forward`` and ``backward``. The numbers are the same (to rounding); only the
    time differs.
    """
    global _enabled
    if not isinstance(enabled, bool):
        raise TypeError(f"set_engine: expected True or False, got {enabled!r}")
    previous, _enabled = _enabled, enabled
    return previous


from .flat import FlatDict, flatten  # noqa: E402
from .optim import allocate_state, optimizer_step  # noqa: E402
from .plan import Plan, train_step  # noqa: E402
