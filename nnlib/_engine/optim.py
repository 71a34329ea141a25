"""The optimizers' rules over a whole network's flat buffer, in cache-sized blocks.

``nnlib.optim`` states each rule as whole-array expressions for one parameter. When the
parameters are views into one flat buffer (``nnlib._engine.flat``) and the optimizer's
state was allocated flat beside them (``allocate_state``), ``optimizer_step`` applies the
same rule once to the whole buffer, with three changes that affect speed alone:

- In place, with two scratch blocks: every expression of the rule becomes one NumPy call
  with ``out=``, in the same order of operations, so the result is the same to the bit
  (``tests/test_engine.py``) and no temporary array is made.
- In blocks of ``BLOCK`` numbers: Adam's rule makes about a dozen passes over its arrays;
  for a 784-512-256-10 network (535k parameters, 2.1 MB per array) those arrays do not fit
  in the processor's cache together, so each pass would fetch them again from memory. A
  block of each stays in the cache for all the passes.
- Denormals flushed: float32 numbers below about 1.2e-38 are *denormal*, and x86
  processors compute with them up to a hundred times more slowly. A weight whose gradient
  stays zero (a dead ReLU unit) decays its running averages into that range. Every
  ``FLUSH_EVERY`` steps the averages of squared gradients are raised to at least
  ``TINY = 1e-30`` and the signed averages (momentum, Adam's m) have entries below
  ``TINY`` set to 0. Neither changes a result measurably (sqrt(1e-30) = 1e-15 is far below
  every eps, and lr * 1e-30 moves no weight), but the numbers then differ from the
  readable rule's in those tiny entries.

The kernels are chosen by the optimizer's ``update`` method: a subclass that writes its
own ``update`` runs that, through the readable path.
"""

import numpy as np

from . import memory

TINY = 1e-30  # floor for averages of squared gradients: keeps float32 out of denormals
FLUSH_EVERY = 16  # steps between raising tiny squared averages and flushing momenta
BLOCK = 1 << 16  # numbers per block: 256 kB per float32 array, cache-sized


def _blocks(*arrays):
    """Yield matching 1-D blocks of ``BLOCK`` numbers of equal 1-D arrays, plus 2 scratch."""
    n = arrays[0].size
    scratch = np.empty((2, min(BLOCK, n)), dtype=arrays[0].dtype)
    for start in range(0, n, BLOCK):
        blocks = [a[start : start + BLOCK] for a in arrays]
        size = blocks[0].size
        yield (*blocks, scratch[0, :size], scratch[1, :size])


def _flush_tiny(a, scratch):
    """Set the entries of ``a`` with |a| < TINY to 0, in place."""
    np.abs(a, out=scratch)
    a *= scratch >= TINY


def sgd(opt, t, p, g, v=None):
    """``SGD.update`` on flat buffers."""
    mu, lr, wd, flush = opt.momentum, opt.lr, opt.weight_decay, t % FLUSH_EVERY == 0
    for pb, gb, vb, tmp, tmp2 in _blocks(p, g, v if v is not None else g):
        if wd:
            np.multiply(pb, wd, out=tmp)
            np.add(gb, tmp, out=tmp)  # g + wd p
            gb = tmp
        if mu:
            vb *= mu
            vb += gb  # v = mu v + g
            if opt.nesterov:
                np.multiply(vb, mu, out=tmp2)
                np.add(gb, tmp2, out=tmp2)  # g + mu v
                gb = tmp2
            else:
                gb = vb
        np.multiply(gb, lr, out=tmp)
        pb -= tmp  # p = p - lr g
        if mu and flush:
            _flush_tiny(vb, tmp)


def adagrad(opt, t, p, g, s):
    """``Adagrad.update`` on flat buffers."""
    lr, eps, floor = opt.lr, opt.eps, t % FLUSH_EVERY == 0
    for pb, gb, sb, tmp, tmp2 in _blocks(p, g, s):
        np.multiply(gb, gb, out=tmp)
        sb += tmp  # s = s + g^2
        if floor:
            np.maximum(sb, TINY, out=sb)
        _rms_step(pb, gb, sb, lr, eps, tmp, tmp2)


def rmsprop(opt, t, p, g, s):
    """``RMSprop.update`` on flat buffers."""
    lr, eps, alpha, floor = opt.lr, opt.eps, opt.alpha, t % FLUSH_EVERY == 0
    for pb, gb, sb, tmp, tmp2 in _blocks(p, g, s):
        np.multiply(gb, gb, out=tmp)
        tmp *= 1 - alpha
        sb *= alpha
        sb += tmp  # s = alpha s + (1 - alpha) g^2
        if floor:
            np.maximum(sb, TINY, out=sb)
        _rms_step(pb, gb, sb, lr, eps, tmp, tmp2)


def _rms_step(p, g, s, lr, eps, tmp, tmp2):
    """p = p - lr g / (sqrt(s) + eps), in place: Adagrad's and RMSprop's last line."""
    np.multiply(g, lr, out=tmp)
    np.sqrt(s, out=tmp2)
    tmp2 += eps
    tmp /= tmp2
    p -= tmp


def adam(opt, t, p, g, m, v):
    """``Adam.update`` on flat buffers."""
    (b1, b2), lr, eps, flush = opt.betas, opt.lr, opt.eps, t % FLUSH_EVERY == 0
    c1, c2 = 1 - b1**t, 1 - b2**t
    for pb, gb, mb, vb, tmp, tmp2 in _blocks(p, g, m, v):
        mb *= b1
        np.multiply(gb, 1 - b1, out=tmp)
        mb += tmp  # m = b1 m + (1 - b1) g
        vb *= b2
        np.multiply(gb, gb, out=tmp)
        tmp *= 1 - b2
        vb += tmp  # v = b2 v + (1 - b2) g^2
        if flush:
            np.maximum(vb, TINY, out=vb)
        np.divide(mb, c1, out=tmp)  # m_hat
        np.divide(vb, c2, out=tmp2)  # v_hat
        tmp *= lr
        np.sqrt(tmp2, out=tmp2)
        tmp2 += eps
        tmp /= tmp2
        pb -= tmp  # p = p - lr m_hat / (sqrt(v_hat) + eps)
        if flush:
            _flush_tiny(mb, tmp)


def adamw(opt, t, p, g, m, v):
    """``AdamW.update`` on flat buffers: decay, then Adam."""
    p *= 1 - opt.lr * opt.weight_decay
    adam(opt, t, p, g, m, v)


def _kernel(opt):
    """The kernel for ``opt``'s rule, or None (a rule of the reader's own)."""
    from .. import optim

    rules = {optim.SGD: sgd, optim.Adagrad: adagrad, optim.RMSprop: rmsprop,
             optim.Adam: adam, optim.AdamW: adamw}  # fmt: skip
    for cls, kernel in rules.items():
        if type(opt).update is cls.update:
            return kernel
    return None


def allocate_state(opt, params):
    """Give ``opt`` zero state for ``params``, flat beside a flat network's buffer.

    Does nothing unless the engine is on, ``params`` is an intact ``FlatDict`` and ``opt``
    has no state yet; ``Optimizer`` then makes plain zero arrays per key.
    """
    from . import engine_enabled
    from .flat import same_buffer_layout

    if not (engine_enabled() and same_buffer_layout(params) and not opt.state):
        return
    flat = {n: memory.zeros(params.flat.size, params.flat.dtype) for n in opt.state_names}
    offset = 0
    for key, p in params.items():
        opt.state[key] = {n: a[offset : offset + p.size].reshape(p.shape) for n, a in flat.items()}
        opt.state[key]["step"] = 0
        offset += p.size
    opt._flat_state = (params.flat, flat)


def optimizer_step(opt, params, grads):
    """Do ``opt.step`` on the flat buffers; return False where it cannot (then nothing ran).

    It can when the engine is on, both dicts are intact ``FlatDict``s, ``opt``'s state was
    allocated flat for this buffer, every parameter has taken as many steps, and ``opt``'s
    rule has a kernel.
    """
    from . import engine_enabled
    from .flat import same_buffer_layout

    flat_state = getattr(opt, "_flat_state", None)
    if not (
        engine_enabled()
        and same_buffer_layout(params)
        and same_buffer_layout(grads)
        and flat_state is not None
        and flat_state[0] is params.flat
        and len(opt.state) == len(params)
    ):
        return False
    kernel = _kernel(opt)
    steps = {opt.state[key]["step"] for key in params}
    if kernel is None or len(steps) != 1:
        return False
    t = steps.pop() + 1
    kernel(opt, t, params.flat, grads.flat, *(flat_state[1][n] for n in opt.state_names))
    for key in params:
        opt.state[key]["step"] = t
    return True
