"""Random shapes, dtypes and values against every public layer, loss and optimizer.

The property (issue 23): whatever it is given, each one either returns the correct result,
checked against PyTorch in float64, or raises a ValueError or TypeError whose message names
it. Never a wrong number, never a raw error from three frames down. Values are compared
where the input is finite and moderate; for NaN, inf and huge inputs (where float32 and
float64 rightly part ways) the result must still have the right shape.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import optim
from nnlib.conv import Conv2D, MaxPool2D
from nnlib.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.schedules import CosineAnnealingLR, ExponentialLR, LinearWarmup, StepLR

torch = pytest.importorskip("torch")
F = torch.nn.functional

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NUMERIC = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_]
ODD = [np.complex128, np.dtype("U2"), np.dtype("M8[s]")]


@st.composite
def arrays(draw, shapes=None, dtypes=NUMERIC + ODD, max_dims=4):
    """An array of a random dtype, shape and values; sometimes a list, a ragged list or None."""
    kind = draw(st.sampled_from(["array"] * 8 + ["list", "ragged", "none", "object"]))
    if kind == "ragged":
        return [[1.0, 2.0], [3.0]]
    if kind == "none":
        return None
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shapes if shapes is not None else hnp.array_shapes(
        min_dims=0, max_dims=max_dims, min_side=0, max_side=5))  # fmt: skip
    a = draw(hnp.arrays(dtype, shape))
    if dtype.kind == "f":
        # No denormal inputs: once PyTorch's CPU kernels have run, the processor may be in
        # flush-to-zero mode for the rest of the process, and a comparison on a denormal
        # would then depend on which tests ran before.
        a[np.abs(a) < np.finfo(dtype).tiny] = 0
    if kind == "object":
        return a.astype(object)
    return a.tolist() if kind == "list" else a


def names_the_class(error, name):
    return isinstance(error, (ValueError, TypeError)) and name in str(error)


def tolerance(dtype):
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4}.get(np.dtype(dtype), 1e-9)


def moderate(*arrays):
    """Finite and at most 1e3 in size: where float32 and float64 must agree."""
    return all(np.all(np.isfinite(a)) and np.all(np.abs(a) <= 1e3) for a in arrays)


def close(ours, theirs, dtype, exact_nan=True):
    ours = np.asarray(ours, dtype=np.float64)
    rtol = tolerance(dtype)
    finite = np.abs(theirs[np.isfinite(theirs)])
    scale = max(np.max(finite, initial=0), 1.0)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, equal_nan=exact_nan)


# --- Layers -----------------------------------------------------------------------------------


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def torch_layer(layer):
    """(the layer's function in torch, its parameters as float64 tensors) for ``layer``."""
    if isinstance(layer, Sequential):
        fns, params = [], {}
        for i, inner in enumerate(layer.layers):
            fn, own = torch_layer(inner)
            fns.append(fn)
            params.update({f"{i}.{k}": v for k, v in own.items()})

        def run(x):
            for fn in fns:
                x = fn(x)
            return x

        return run, params
    p = {k: t(v, grad=True) for k, v in layer.params.items()}
    if isinstance(layer, Dense):
        return (lambda x: x @ p["W"] + p["b"]), p
    if isinstance(layer, Conv2D):
        return (lambda x: F.conv2d(x, p["W"], p["b"], layer.stride, layer.padding)), p
    if isinstance(layer, MaxPool2D):
        return (lambda x: F.max_pool2d(x, layer.kernel_size, layer.stride)), p
    if isinstance(layer, LeakyReLU):
        return (lambda x: F.leaky_relu(x, layer.alpha)), p
    return {
        ReLU: F.relu,
        Sigmoid: torch.sigmoid,
        Tanh: torch.tanh,
        Flatten: lambda x: torch.flatten(x, 1),
        Dropout: lambda x: x,  # evaluation mode: the identity
    }[type(layer)], p


LAYERS = {
    "Dense": lambda: Dense(3, 2, rng=0),
    "Dense64": lambda: Dense(3, 2, rng=0, dtype=np.float64),
    "ReLU": ReLU,
    "LeakyReLU": lambda: LeakyReLU(0.1),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "Dropout": lambda: Dropout(0.3, rng=0),
    "Flatten": Flatten,
    "Conv2D": lambda: Conv2D(2, 3, 2, padding=1, rng=0),
    "MaxPool2D": lambda: MaxPool2D(2),
    "MaxPool2D-overlapping": lambda: MaxPool2D(2, stride=1),
    "Sequential": lambda: Sequential([Dense(3, 4, rng=0), ReLU(), Dense(4, 2, rng=1)]),
}
SHAPES = {
    "Dense": st.sampled_from([(4, 3), (1, 3), (0, 3)]),
    "Conv2D": st.sampled_from([(2, 2, 3, 3), (1, 2, 1, 4), (0, 2, 2, 2)]),
    "MaxPool2D": st.sampled_from([(2, 2, 4, 4), (1, 1, 3, 5), (1, 3, 2, 2)]),
}


def shapes_for(name):
    """Mostly shapes the layer takes (so results get checked), sometimes any shape."""
    fitting = SHAPES.get(name.split("-")[0].removesuffix("64"), SHAPES["Dense"])
    if name in ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Dropout", "Flatten"):
        fitting = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)
    return st.one_of(fitting, fitting, hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))


@pytest.mark.parametrize("name", LAYERS)
@SETTINGS
@given(data=st.data())
def test_every_layer_gives_the_right_result_or_a_named_error(name, data):
    layer = LAYERS[name]()
    x = data.draw(arrays(shapes_for(name)), label="x")
    owner = name.split("-")[0].removesuffix("64")
    try:
        with np.errstate(all="ignore"):
            out = layer.forward(x)
    except Exception as error:  # noqa: BLE001 - the property is about which errors
        assert names_the_class(error, owner), repr(error)
        return
    x = np.asarray(x)
    assert out.shape == layer.output_shape(x.shape)
    fn, params = torch_layer(layer)
    dout = data.draw(hnp.arrays(np.float64, out.shape, elements=st.floats(-3, 3)), label="dout")
    with np.errstate(all="ignore"):
        dx = layer.backward(dout)
    assert dx.shape == x.shape
    elementwise = owner in ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Flatten", "Dropout")
    if not (elementwise or owner == "MaxPool2D" or moderate(x)):
        return
    xt = t(x, grad=True)
    out_t = fn(xt)
    out_t.backward(t(dout))
    close(out, out_t.detach().numpy(), out.dtype)  # to the precision of the computation
    if elementwise:  # at NaN or inf inputs no derivative is right (PyTorch's varies)
        defined = np.isfinite(x.astype(np.float64))
        close(dx[defined], xt.grad.numpy()[defined], out.dtype)
    else:
        close(dx, xt.grad.numpy(), out.dtype)
    grads = layer.grads
    for key, p in params.items():
        close(grads[key], p.grad.numpy(), grads[key].dtype)


@pytest.mark.parametrize("name", ["Dense", "ReLU", "Conv2D", "MaxPool2D", "Flatten", "Sequential"])
@SETTINGS
@given(data=st.data())
def test_every_backward_takes_the_right_gradient_or_names_the_wrong_one(name, data):
    layer = LAYERS[name]()
    shape = {"Conv2D": (2, 2, 3, 3), "MaxPool2D": (2, 2, 4, 4)}.get(name, (4, 3))
    x = np.random.default_rng(0).standard_normal(shape)
    out = layer.forward(x)
    dout = data.draw(arrays(st.one_of(st.just(out.shape), hnp.array_shapes(max_dims=4))))
    try:
        with np.errstate(all="ignore"):
            dx = layer.backward(dout)
    except Exception as error:  # noqa: BLE001
        assert names_the_class(error, name), repr(error)
        return
    assert dx.shape == x.shape
    if not moderate(dout):  # NaN * 0 is NaN in NumPy where torch's masks give 0
        return
    fn, params = torch_layer(layer)
    xt = t(x, grad=True)
    fn(xt).backward(t(dout))
    close(dx, xt.grad.numpy(), np.result_type(dx.dtype, np.float32))


# --- Losses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MSELoss", "SoftmaxCrossEntropy"])
@SETTINGS
@given(data=st.data())
def test_every_loss_gives_the_right_result_or_a_named_error(name, data):
    loss = {"MSELoss": MSELoss, "SoftmaxCrossEntropy": SoftmaxCrossEntropy}[name]()
    fitting = st.sampled_from([(4, 3), (1, 1), (2, 5)])
    y_hat = data.draw(arrays(st.one_of(fitting, hnp.array_shapes(max_dims=3))), label="y_hat")
    shape = np.shape(y_hat) if isinstance(y_hat, np.ndarray) else (4, 3)
    label_shapes = st.sampled_from([shape, shape[:1]]) if len(shape) else st.just(())
    y = data.draw(arrays(st.one_of(label_shapes, hnp.array_shapes(max_dims=3))), label="y")
    if name == "SoftmaxCrossEntropy" and data.draw(st.booleans(), label="valid labels"):
        n, c = (shape + (1, 1))[:2]
        y = data.draw(hnp.arrays(np.int64, shape[:1], elements=st.integers(0, max(c - 1, 0))))
    try:
        with np.errstate(all="ignore"):
            value = loss.forward(y_hat, y)
            grad = loss.backward()
    except Exception as error:  # noqa: BLE001
        assert names_the_class(error, name), repr(error)
        return
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    assert isinstance(value, float) and grad.shape == y_hat.shape
    if not moderate(y_hat, y):
        return
    yt = t(y_hat, grad=True)
    if name == "MSELoss":
        value_t = F.mse_loss(yt, t(y))
    else:
        value_t = F.cross_entropy(yt, torch.tensor(y))
    value_t.backward()
    close(value, value_t.detach().numpy(), y_hat.dtype)
    close(grad, yt.grad.numpy(), y_hat.dtype)


# --- Optimizers -------------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": (lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "Adagrad": (lambda: optim.Adagrad(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "RMSprop": (lambda: optim.RMSprop(lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "Adam": (lambda: optim.Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "AdamW": (lambda: optim.AdamW(lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
}  # fmt: skip


@pytest.mark.parametrize("name", OPTIMIZERS)
@SETTINGS
@given(data=st.data())
def test_every_optimizer_gives_the_right_step_or_a_named_error(name, data):
    make, make_torch = OPTIMIZERS[name]
    shapes = st.one_of(st.sampled_from([(3,), (2, 3), ()]), hnp.array_shapes(max_dims=3))
    p = data.draw(arrays(shapes, dtypes=NUMERIC + ODD + [np.float32] * 4), label="p")
    same = st.just(np.shape(p)) if isinstance(p, np.ndarray) else shapes
    g = data.draw(arrays(st.one_of(same, same, shapes)), label="g")
    p0 = np.array(p, copy=True) if isinstance(p, np.ndarray) else p
    opt = make()
    try:
        with np.errstate(all="ignore"):
            for _ in range(2):
                opt.step({"w": p}, {"w": g})
    except Exception as error:  # noqa: BLE001
        assert names_the_class(error, name), repr(error)
        return
    assert isinstance(p, np.ndarray) and p.dtype == p0.dtype and p.shape == p0.shape
    if not moderate(p0, g):
        return
    pt = t(p0, grad=True)
    opt_t = make_torch([pt])
    for _ in range(2):
        pt.grad = t(g)
        opt_t.step()
    close(p, pt.detach().numpy(), p.dtype)


# --- Constructors -----------------------------------------------------------------------------

ODD_VALUES = st.one_of(
    st.integers(-2, 6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
    st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
    st.lists(st.floats(0, 1), max_size=3),
    st.sampled_from([np.float32, "float64", "int8", "bogus", np.int64(3), np.float64(0.5)]),
)
CONSTRUCTORS = {
    "Dense": (Dense, 2), "Conv2D": (Conv2D, 3), "MaxPool2D": (MaxPool2D, 1),
    "Dropout": (Dropout, 1), "LeakyReLU": (LeakyReLU, 1), "Sequential": (Sequential, 1),
    "SGD": (optim.SGD, 1), "Adagrad": (optim.Adagrad, 1), "RMSprop": (optim.RMSprop, 1),
    "Adam": (optim.Adam, 1), "AdamW": (optim.AdamW, 1), "StepLR": (StepLR, 1),
    "ExponentialLR": (ExponentialLR, 1), "CosineAnnealingLR": (CosineAnnealingLR, 1),
    "LinearWarmup": (LinearWarmup, 1),
}  # fmt: skip
KEYWORDS = {
    "Dense": ["rng", "dtype"], "Conv2D": ["stride", "padding", "rng", "dtype"],
    "MaxPool2D": ["stride"], "Dropout": ["rng"], "SGD": ["momentum", "nesterov", "weight_decay"],
    "Adagrad": ["eps"], "RMSprop": ["alpha", "eps"], "Adam": ["betas", "eps"],
    "AdamW": ["betas", "eps", "weight_decay"], "StepLR": ["gamma"],
    "CosineAnnealingLR": ["eta_min"], "LinearWarmup": ["after"],
}  # fmt: skip


@pytest.mark.parametrize("name", CONSTRUCTORS)
@SETTINGS
@given(data=st.data())
def test_every_constructor_takes_good_arguments_or_names_the_bad_one(name, data):
    cls, n_args = CONSTRUCTORS[name]
    args = [data.draw(ODD_VALUES, label=f"arg {i}") for i in range(n_args)]
    chosen = data.draw(st.lists(st.sampled_from(KEYWORDS.get(name, ["-"])), unique=True))
    kwargs = {k: data.draw(ODD_VALUES, label=k) for k in chosen if k != "-"}
    try:
        obj = cls(*args, **kwargs)
    except Exception as error:  # noqa: BLE001
        assert names_the_class(error, name), repr(error)
        return
    repr(obj)  # an object that was made can at least say what it is
