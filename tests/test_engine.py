"""The engine (nnlib._engine) against the readable code it stands in for.

Every fast path is compared with the readable layer, loss or optimizer rule: bit for bit
where the arithmetic is the same, and to a stated tolerance where an order of summation
changes (float64 inputs, relative error below 1e-12) or where the engine flushes
denormals (float32, the tolerance of a PyTorch comparison).
"""

import mmap
from pathlib import Path

import numpy as np
import pytest

import nnlib
from nnlib import _engine, optim
from nnlib._engine import conv as econv
from nnlib._engine import memory
from nnlib._engine import optim as eoptim
from nnlib.conv import Conv2D, MaxPool2D
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.layers import Dense, Dropout, Flatten, Layer, ReLU, Sigmoid
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.train import fit


@pytest.fixture
def engine_off():
    previous = nnlib.set_engine(False)
    yield
    nnlib.set_engine(previous)


def build(make, engine):
    """The network ``make()`` builds, with the engine on or off while it is built and run."""
    previous = nnlib.set_engine(engine)
    try:
        return make()
    finally:
        nnlib.set_engine(previous)


def run(net, x, dout, engine):
    """forward and backward of ``net`` with the engine on or off: (out, dx, grads)."""
    previous = nnlib.set_engine(engine)
    try:
        out = net.forward(x, training=True)
        dx = net.backward(dout(out) if callable(dout) else dout)
        return out, dx, {k: g.copy() for k, g in net.grads.items()}
    finally:
        nnlib.set_engine(previous)


# --- The switch ---------------------------------------------------------------------------


def test_the_switch_and_its_errors():
    assert nnlib.engine_enabled()
    assert nnlib.set_engine(False) is True
    try:
        assert not nnlib.engine_enabled()
        net = Sequential([Dense(3, 2)])
        assert net._flat is None and getattr(net.params, "flat", None) is None
    finally:
        nnlib.set_engine(True)
    with pytest.raises(TypeError, match=r"set_engine: expected True or False, got 'off'"):
        nnlib.set_engine("off")


def test_environment_variable_switches_it_off(tmp_path):
    import subprocess
    import sys

    code = "import nnlib; print(nnlib.engine_enabled())"
    env = {"NNLIB_ENGINE": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# --- Flat buffers ---------------------------------------------------------------------------


def test_parameters_share_one_flat_buffer():
    model = Sequential([Dense(3, 2, rng=0), ReLU(), Dense(2, 1, rng=1)])
    params, grads = model.params, model.grads
    assert list(params) == ["0.W", "0.b", "2.W", "2.b"]
    flat_p, flat_g = params.flat, grads.flat
    assert flat_p.shape == flat_g.shape == (3 * 2 + 2 + 2 * 1 + 1,)
    for key in params:
        assert np.shares_memory(params[key], flat_p)
        assert np.shares_memory(grads[key], flat_g)
    flat_p[:] = 0  # one vectorised update reaches every layer
    assert np.all(model.layers[2].params["W"] == 0)
    model.forward(np.ones((4, 3), dtype=np.float32))
    model.backward(np.ones((4, 1), dtype=np.float32))
    assert flat_g[-1] == 4  # db of the last layer: the sum of dout


def test_initial_weights_survive_the_move_into_the_flat_buffer():
    a, b = Dense(4, 3, rng=5), Dense(4, 3, rng=5)
    Sequential([a])
    np.testing.assert_array_equal(a.params["W"], b.params["W"])


def test_a_replaced_parameter_array_takes_the_network_off_the_flat_path():
    model = Sequential([Dense(3, 2, rng=0)])
    model.layers[0].params["W"] = np.zeros((3, 2), dtype=np.float32)
    assert getattr(model.params, "flat", None) is None  # the optimizer goes key by key
    opt = optim.SGD(0.1)
    model.forward(np.ones((1, 3), dtype=np.float32))
    model.backward(np.ones((1, 2), dtype=np.float32))
    opt.step(model.params, model.grads)
    assert np.all(model.layers[0].params["W"] == -0.1)


def test_nested_networks_share_the_outer_buffer():
    inner = Sequential([Dense(3, 4, rng=0), ReLU()])
    outer = Sequential([inner, Dense(4, 2, rng=1)])
    assert list(outer.params) == ["0.0.W", "0.0.b", "1.W", "1.b"]
    assert inner._flat is None and outer.params.flat is not None
    assert all(np.shares_memory(p, outer.params.flat) for p in outer.params.values())
    assert list(inner.params) == ["0.W", "0.b"]  # the inner network still sees its own keys


# --- Optimizers over the flat buffer ----------------------------------------------------------


class Holder(Layer):
    """A layer that only holds parameters: lets a test step optimizers over a flat buffer."""

    def __init__(self, **arrays):
        super().__init__()
        self.params = dict(arrays)
        self.grads = {k: np.zeros_like(v) for k, v in arrays.items()}

    def forward(self, x, training=False):
        return x

    def backward(self, dout):
        return dout


ALL = [
    lambda: optim.SGD(lr=0.03),
    lambda: optim.SGD(lr=0.03, weight_decay=0.1),
    lambda: optim.SGD(lr=0.03, momentum=0.9),
    lambda: optim.SGD(lr=0.03, momentum=0.9, nesterov=True),
    lambda: optim.SGD(lr=0.03, momentum=0.5, weight_decay=1e-2),
    lambda: optim.SGD(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    lambda: optim.Adagrad(lr=0.5),
    lambda: optim.RMSprop(lr=0.01),
    lambda: optim.Adam(lr=0.05),
    lambda: optim.AdamW(lr=0.05, weight_decay=1e-1),
]
IDS = [repr(make()) for make in ALL]


def step_both(make, n_steps, seed=1):
    """The same gradients through the engine (flat) and the readable rule (key by key)."""
    rng = np.random.default_rng(seed)
    init = {"w": rng.standard_normal((4, 5)), "u": rng.standard_normal(7)}
    init = {k: v.astype(np.float32) for k, v in init.items()}
    grads = [
        {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in init.items()}
        for _ in range(n_steps)
    ]
    results = []
    for engine in (True, False):
        net = build(lambda: Sequential([Holder(**{k: v.copy() for k, v in init.items()})]), engine)
        opt = make()
        for g in grads:
            for k, v in g.items():
                net.grads[f"0.{k}"][...] = v
            previous = nnlib.set_engine(engine)
            try:
                opt.step(net.params, net.grads)
            finally:
                nnlib.set_engine(previous)
        assert (getattr(opt, "_flat_state", None) is not None) == engine or not opt.state_names
        results.append((net.params, opt))
    return results


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_engine_steps_are_the_readable_rules_bit_for_bit(make, monkeypatch):
    """Blocks of 8 numbers (so 47 parameters make 6 blocks, the last one ragged), for
    FLUSH_EVERY - 1 steps, before any denormal flush: the same numbers, bit for bit."""
    monkeypatch.setattr(eoptim, "BLOCK", 8)
    (fast, fast_opt), (plain, plain_opt) = step_both(make, eoptim.FLUSH_EVERY - 1)
    for key in plain:
        np.testing.assert_array_equal(fast[key], plain[key], err_msg=key)
        for name, value in plain_opt.state[key].items():
            np.testing.assert_array_equal(fast_opt.state[key][name], value, err_msg=name)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_engine_steps_past_a_flush_stay_within_rounding(make):
    (fast, _), (plain, _) = step_both(make, 3 * eoptim.FLUSH_EVERY + 2)
    for key in plain:
        np.testing.assert_allclose(fast[key], plain[key], rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_flat_state_is_exposed_per_key_as_views(make):
    (params, opt), _ = step_both(make, 2)
    assert set(opt.state) == set(params)
    for key, p in params.items():
        assert opt.state[key]["step"] == 2
        for name in opt.state_names:
            state = opt.state[key][name]
            assert state.shape == p.shape
            assert np.shares_memory(state, opt._flat_state[1][name])


def test_a_step_by_hand_after_fit_continues_the_same_state():
    """fit steps the flat buffer; a manual step afterwards is Adam's step t + 1."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    model, opt = Sequential([Dense(3, 2, rng=0)]), optim.Adam(1e-2)
    fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=2, batch_size=10, progress=False)
    assert {s["step"] for s in opt.state.values()} == {8}
    twin = build(lambda: Sequential([Dense(3, 2, rng=0)]), False)
    for key, p in model.params.items():
        twin.params[key][...] = p
    twin_opt = optim.Adam(1e-2)
    twin_opt.step(twin.params, twin.grads)  # allocate the state, then copy it over
    for key in opt.state:
        twin_opt.state[key].update(
            {k: np.array(v) for k, v in opt.state[key].items() if k != "step"}
        )
        twin_opt.state[key]["step"] = opt.state[key]["step"]
    for key, p in model.params.items():
        twin.params[key][...] = p
    model.forward(X[:10])
    model.backward(np.ones((10, 2), np.float32))
    opt.step(model.params, model.grads)
    previous = nnlib.set_engine(False)
    twin.forward(X[:10])
    twin.backward(np.ones((10, 2), np.float32))
    twin_opt.step(twin.params, twin.grads)
    nnlib.set_engine(previous)
    assert {s["step"] for s in opt.state.values()} == {9}
    for key in model.params:
        np.testing.assert_allclose(model.params[key], twin.params[key], rtol=1e-6, atol=1e-7)


def test_reusing_an_optimizer_for_a_second_model_is_an_error():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    opt = optim.Adam(1e-2)
    fit(Sequential([Dense(3, 2, rng=0)]), SoftmaxCrossEntropy(), opt, X, y, epochs=1,
        batch_size=10, progress=False)  # fmt: skip
    for second in (Sequential([Dense(3, 2, rng=1)]), Sequential([Dense(3, 3), Dense(3, 2)])):
        with pytest.raises(ValueError, match="belongs to another model"):
            fit(second, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=10,
                progress=False)  # fmt: skip
    opt.reset()
    fit(second, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=10, progress=False)


def test_a_rule_of_the_readers_own_runs_as_written():
    class Halving(optim.SGD):
        def update(self, p, g, state):
            p -= 0.5 * self.lr * g

    net = Sequential([Holder(w=np.ones(3, np.float32))])
    net.grads["0.w"][...] = 1
    opt = Halving(lr=0.2)
    opt.step(net.params, net.grads)
    np.testing.assert_allclose(net.params["0.w"], 0.9)


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adam", "AdamW"])
def test_no_denormals_in_squared_averages_and_still_pytorch(name):
    """Gradients that die out: the floor keeps the squared average normal, and the path
    stays PyTorch's. The floor comes every FLUSH_EVERY steps; in between the average may
    dip below TINY, but not by the 1e-8 that would take it into the denormal range."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    kwargs = {"lr": 0.01}
    if name in ("Adam", "AdamW"):
        kwargs["betas"] = (0.9, 0.5)  # a short memory reaches the denormal range in ~100 steps
    if name == "RMSprop":
        kwargs["alpha"] = 0.5
    p0 = rng.standard_normal(50).astype(np.float32)
    net = Sequential([Holder(w=p0.copy())])
    opt = getattr(optim, name)(**kwargs)
    theirs = torch.tensor(p0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([theirs], **kwargs)
    for i in range(200):
        g = rng.standard_normal(50).astype(np.float32)
        g[25:] = 1e-20 if i < 5 else 0.0  # squares are denormal, then 0
        net.grads["0.w"][...] = g
        opt.step(net.params, net.grads)
        theirs.grad = torch.tensor(g)
        topt.step()
        state = opt.state["0.w"]
        moment = state["v"] if "v" in state else state["s"]
        step = i + 1
        if step % eoptim.FLUSH_EVERY == 0:
            assert moment.min() >= eoptim.TINY, f"step {step}: below the floor"
        if step >= eoptim.FLUSH_EVERY:
            assert np.all(moment >= np.finfo(np.float32).smallest_normal), f"step {step}"
    np.testing.assert_allclose(net.params["0.w"], theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_momentum_never_decays_into_denormals_and_still_pytorch(name):
    """A gradient that turns exactly 0 (a dead ReLU): the velocity or first moment decays
    like 0.9^t and would be denormal from about step 770 to 915. The flush keeps it out."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    kwargs = {"lr": 0.01, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    p0 = rng.standard_normal(50).astype(np.float32)
    net = Sequential([Holder(w=p0.copy())])
    opt = getattr(optim, name)(**kwargs)
    theirs = torch.tensor(p0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([theirs], **kwargs)
    tiny = np.finfo(np.float32).smallest_normal
    for i in range(1000):
        g = np.zeros(50, np.float32)
        g[:25] = rng.standard_normal(25) if i < 3 else 0.0
        g[25:] = 1e-3 if i < 3 else 0.0
        net.grads["0.w"][...] = g
        opt.step(net.params, net.grads)
        theirs.grad = torch.tensor(g)
        topt.step()
        buf = opt.state["0.w"]["v" if name == "SGD" else "m"]
        assert not ((buf != 0) & (np.abs(buf) < tiny)).any(), f"step {i}: denormals"
    np.testing.assert_allclose(net.params["0.w"], theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- Layers through the plan ----------------------------------------------------------------


def lenet_like(shape, F, k, stride, padding, pool, dtype=np.float64):
    """Conv2D, ReLU, MaxPool2D (fused by the engine), a 1x1 Conv2D alone, Sigmoid, Flatten."""

    def make():
        return Sequential([
            Conv2D(shape[1], F, k, stride=stride, padding=padding, rng=0, dtype=dtype), ReLU(),
            MaxPool2D(pool), Conv2D(F, 3, 1, rng=1, dtype=dtype), Sigmoid(), Flatten(),
        ])  # fmt: skip

    return make


# (N, C, H, W), F, kernel, stride, padding, pool: square and ragged, tied maxima, pool 1.
FUSED_CASES = [
    ((2, 1, 8, 8), 3, 5, 1, 2, 2),
    ((2, 3, 11, 7), 4, 3, 1, 1, 2),
    ((3, 2, 9, 12), 2, (3, 2), 2, 1, 3),
    ((1, 2, 6, 6), 2, 1, 1, 0, 1),
    ((2, 2, 10, 10), 20, 3, 1, 1, 2),  # 20 filters: the engine keeps its im2col matrix
]


def case_id(case):
    return "-".join(str(part) for part in case)


@pytest.mark.parametrize("case", FUSED_CASES, ids=case_id)
def test_fused_conv_relu_pool_and_the_rest_equal_the_readable_layers(case):
    """Conv2D, ReLU, MaxPool2D run fused by the engine; Conv2D alone, Sigmoid and Flatten
    after it. Float64, so rounding is far below the tolerance of 1e-12."""
    shape, F, k, stride, padding, pool = case
    rng = np.random.default_rng(10)
    make = lenet_like(shape, F, k, stride, padding, pool)
    fast, plain = build(make, True), build(make, False)
    assert [type(s).__name__ for s in fast._engine_plan().steps][:2] == [
        "ConvReLUPoolStep", "ConvStep"]  # fmt: skip
    b = rng.standard_normal(F) * 0.5
    fast.layers[0].params["b"][...] = plain.layers[0].params["b"][...] = b
    x = rng.standard_normal(shape)
    x[:, :, :2] = 0  # zero rows: windows whose values tie exactly

    def dout(out):
        return np.random.default_rng(3).standard_normal(out.shape)

    out_p, dx_p, g_p = run(plain, x, dout, False)
    out_f, dx_f, g_f = run(fast, x, dout, True)
    assert rel_error(out_f, out_p) < 1e-12
    assert rel_error(dx_f, dx_p) < 1e-12
    for key in g_p:
        assert rel_error(g_f[key], g_p[key]) < 1e-12, key


def test_dense_relu_dropout_through_the_plan_equal_the_readable_layers():
    def make():
        return Sequential([Dense(5, 4, rng=0, dtype=np.float64), ReLU(), Dropout(0.3, rng=1),
                           Dense(4, 3, rng=2, dtype=np.float64)])  # fmt: skip

    x = np.random.default_rng(0).standard_normal((6, 5))
    dout = np.random.default_rng(1).standard_normal((6, 3))
    out_p, dx_p, g_p = run(build(make, False), x, dout, False)
    out_f, dx_f, g_f = run(build(make, True), x, dout, True)
    np.testing.assert_array_equal(out_f, out_p)  # the same products, the same order
    np.testing.assert_array_equal(dx_f, dx_p)
    for key in g_p:  # db: a matrix-vector product instead of a sum
        assert rel_error(g_f[key], g_p[key]) < 1e-14, key


def test_training_skips_the_data_gradient_and_fills_the_same_grads():
    model = Sequential([Conv2D(1, 2, 3, rng=0, dtype=np.float64), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(8, 2, rng=1, dtype=np.float64)])  # fmt: skip
    x = np.random.default_rng(0).standard_normal((3, 1, 6, 6))
    dout = np.random.default_rng(1).standard_normal((3, 2))
    model.forward(x, training=True)
    assert model.backward(dout).shape == x.shape
    full = model.grads.flat.copy()
    model.grads.flat[:] = 0
    plan = model._engine_plan()
    model.forward(x, training=True)
    assert plan.backward(dout, input_grad=False) is None
    np.testing.assert_array_equal(model.grads.flat, full)


def test_images_stay_batch_last_between_engine_steps():
    """The engine's conv and pooling return (N, C, H, W) arrays stored batch-last; the
    readable layers see the same values."""
    x = np.random.default_rng(13).random((4, 2, 10, 10), dtype=np.float32)
    out, _ = econv.conv2d_forward(
        x, np.ones((3, 2, 3, 3), np.float32), np.zeros(3, np.float32), 1, 0
    )
    assert out.transpose(1, 2, 3, 0).flags.c_contiguous
    pooled = econv.maxpool_forward(out, 2, 2)
    assert pooled.transpose(1, 2, 3, 0).flags.c_contiguous
    np.testing.assert_array_equal(pooled, MaxPool2D(2).forward(np.ascontiguousarray(out)))


def test_sum_of_products_is_a_matmul():
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((7, 10_000)), rng.standard_normal((3, 10_000))
    assert rel_error(econv._sum_of_products(a, b, chunk=4096), a @ b.T) < 1e-12
    assert rel_error(econv._sum_of_products(a[:, :5], b[:, :5]), a[:, :5] @ b[:, :5].T) < 1e-12


CONV_CASES = [
    ((2, 3, 7, 7), 4, 3, 1, 0),
    ((2, 2, 6, 9), 3, 3, 2, 1),
    ((1, 3, 8, 5), 2, (3, 2), 1, 2),
    ((3, 1, 9, 7), 2, 5, 2, 2),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
@pytest.mark.parametrize("rows_per_slice", [1, 2, None])
def test_sliced_and_whole_columns_equal_the_readable_conv(case, rows_per_slice, monkeypatch):
    shape, F, k, stride, padding = case
    rng = np.random.default_rng(15)
    layer = Conv2D(shape[1], F, k, stride=stride, padding=padding, rng=0, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(F)
    W, b = layer.params["W"], layer.params["b"]
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    whole, cols = econv.conv2d_forward_im2col(x, W, b, stride, padding)
    if rows_per_slice is not None:
        monkeypatch.setattr(econv, "SLICE", rows_per_slice * out.shape[3] * shape[0])
    sliced = econv.conv2d_forward_sliced(x, W, b, stride, padding)
    assert rel_error(whole, out) < 1e-12 and rel_error(sliced, out) < 1e-12
    readable = (dx, layer.grads["W"], layer.grads["b"])
    for grads in (econv.conv2d_backward_im2col(dout, cols, x.shape, W, stride, padding),
                  econv.conv2d_backward_sliced(dout, x, W, stride, padding)):  # fmt: skip
        for name, g1, g2 in zip(["dx", "dW", "db"], grads, readable):
            assert g1.shape == g2.shape and rel_error(g1, g2) < 1e-12, name


def test_training_cross_entropy_equals_the_readable_loss():
    from nnlib._engine.losses import softmax_cross_entropy

    rng = np.random.default_rng(17)
    for scale, dtype in [(1, np.float64), (3, np.float32), (1000, np.float32)]:
        logits = (rng.standard_normal((9, 5)) * scale).astype(dtype)
        y = rng.integers(0, 5, 9)
        readable = SoftmaxCrossEntropy()
        expected = readable.forward(logits, y)
        value, dlogits = softmax_cross_entropy(logits.copy(), y)
        assert value == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-12)
        # The clamp at exp(-80) moves a probability by less than 1e-33.
        np.testing.assert_allclose(dlogits, readable.backward(), rtol=1e-6, atol=1e-30)
        assert dlogits.dtype == dtype


def test_tiled_pooling_backward_equals_the_readable_one():
    rng = np.random.default_rng(16)
    x = np.maximum(rng.standard_normal((3, 2, 8, 6)), 0)  # many tied zeros
    pool = MaxPool2D(2)
    out = pool.forward(x)
    dout = rng.standard_normal(out.shape)  # negative entries: dout * 0 would be -0.0
    dout[0, 0, 0, 0] = -0.0
    fast, readable = econv.maxpool_backward_tiles(dout, x, out, 2), pool.backward(dout)
    np.testing.assert_array_equal(fast.view(np.uint64), readable.view(np.uint64))  # bit for bit
    dout[1, 1, 1, 1], dout[2, 0, 3, 2] = np.inf, np.nan  # zero, not NaN, beside the maxima
    np.testing.assert_array_equal(
        econv.maxpool_backward_tiles(dout, x, out, 2), pool.backward(dout)
    )
    # x and out stored batch-last (as after the engine's convolution), dout in C order.
    x_last = np.empty(x.shape[1:] + x.shape[:1]).transpose(3, 0, 1, 2)
    x_last[...] = x
    out_last = econv.maxpool_forward(x_last, 2, 2)
    dout = rng.standard_normal(out.shape)
    dx = econv.maxpool_backward_tiles(dout, x_last, out_last, 2)
    np.testing.assert_array_equal(dx.view(np.uint64), pool.backward(dout).view(np.uint64))
    assert dx.strides == x_last.strides


def test_fit_with_and_without_the_engine_follows_one_path():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 64)

    def make():
        return Sequential([Conv2D(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(64, 3, rng=1)])  # fmt: skip

    finals = []
    for engine in (True, False):
        model = build(make, engine)
        previous = nnlib.set_engine(engine)
        try:
            history = fit(model, SoftmaxCrossEntropy(), optim.SGD(0.05, momentum=0.9), X, y,
                          epochs=3, batch_size=16, rng=1, progress=False)  # fmt: skip
        finally:
            nnlib.set_engine(previous)
        finals.append((history.loss, np.concatenate([p.ravel() for p in model.params.values()])))
    np.testing.assert_allclose(finals[0][0], finals[1][0], rtol=1e-5)
    np.testing.assert_allclose(finals[0][1], finals[1][1], rtol=1e-4, atol=1e-5)


def test_nested_network_gradients_with_the_engine():
    inner = Sequential([Dense(3, 4, rng=0, dtype=np.float64), ReLU()])
    model = Sequential([inner, Dense(4, 2, rng=1, dtype=np.float64)])
    x = np.random.default_rng(0).standard_normal((5, 3))
    dout = np.random.default_rng(1).standard_normal((5, 2))

    def loss(_):
        return float(np.sum(model.forward(x) * dout))

    model.forward(x)
    model.backward(dout)
    analytic = model.grads.flat.copy()
    assert rel_error(analytic, numerical_gradient(loss, model.params.flat)) < 1e-6


def test_mse_regression_trains_the_same_either_way():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (50, 1)).astype(np.float32)
    y = np.sin(3 * X).astype(np.float32)
    finals = []
    for engine in (True, False):
        model = build(lambda: Sequential([Dense(1, 8, rng=0), ReLU(), Dense(8, 1, rng=1)]), engine)
        previous = nnlib.set_engine(engine)
        try:
            h = fit(model, MSELoss(), optim.Adam(1e-2), X, y, epochs=5, batch_size=10, rng=0,
                    progress=False)  # fmt: skip
        finally:
            nnlib.set_engine(previous)
        finals.append(h.loss)
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-5)


# --- Huge pages -----------------------------------------------------------------------------

LINUX_HUGE_PAGES = hasattr(mmap, "MADV_HUGEPAGE")


def huge_pages_offered():
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in mode


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 1000, 600_000])
def test_zeros_are_zeros_of_the_right_kind(n, dtype):
    a = memory.zeros(n, dtype)
    assert a.shape == (n,) and a.dtype == dtype and a.flags.writeable
    assert not a.any()


@pytest.mark.skipif(not LINUX_HUGE_PAGES, reason="no madvise(MADV_HUGEPAGE) on this system")
def test_big_arrays_start_on_a_huge_page_boundary_and_outlive_their_name():
    a = memory.zeros(600_000)
    assert a.ctypes.data % memory.HUGE_PAGE == 0
    view = a[10:20]
    del a
    view[:] = 3
    assert view.sum() == 30


@pytest.mark.skipif(not huge_pages_offered(), reason="transparent huge pages are switched off")
def test_big_arrays_get_huge_pages_once_written():
    a = memory.zeros(600_000)
    a[:] = 1  # memory is handed out on first write
    assert memory.on_huge_pages(a) > 0


@pytest.mark.skipif(not LINUX_HUGE_PAGES, reason="no madvise(MADV_HUGEPAGE) on this system")
@pytest.mark.parametrize("make", [lambda: optim.SGD(0.1, momentum=0.9), lambda: optim.Adam(1e-3)])
def test_networks_and_optimizers_keep_big_buffers_on_huge_pages(make):
    model = Sequential([Dense(784, 512, rng=0), ReLU(), Dense(512, 256, rng=1)])
    for buffer in (model.params.flat, model.grads.flat):
        assert buffer.ctypes.data % memory.HUGE_PAGE == 0
    opt = make()
    opt.step(model.params, model.grads)
    for name, state in opt._flat_state[1].items():
        assert state.ctypes.data % memory.HUGE_PAGE == 0, name
        assert state.shape == model.params.flat.shape


def test_huge_pages_change_no_number(monkeypatch):
    """The same training steps on huge pages and on ordinary arrays end bit for bit equal."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 784), dtype=np.float32)
    dout = rng.standard_normal((64, 256), dtype=np.float32)
    results = []
    for huge_from in [memory.HUGE_FROM, float("inf")]:
        monkeypatch.setattr(memory, "HUGE_FROM", huge_from)
        model = Sequential([Dense(784, 512, rng=0), ReLU(), Dense(512, 256, rng=1)])
        opt = optim.Adam(1e-3)
        for _ in range(3):
            model.forward(X, training=True)
            model.backward(dout)
            opt.step(model.params, model.grads)
        results.append(model.params.flat.copy())
    np.testing.assert_array_equal(*results)


def test_engine_module_is_private():
    assert "_engine" not in nnlib.__all__
    assert _engine.engine_enabled is nnlib.engine_enabled
