"""Residual connections (Chapter 9): gradients, keys, and the engine's flat buffer."""

import numpy as np
import pytest

import nnlib
from nnlib.conv import BatchNorm2d, Conv2D
from nnlib.gradcheck import check_layer, rel_error
from nnlib.layers import BatchNorm1d, Dense, Flatten, ReLU, Tanh
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Residual, Sequential
from nnlib.optim import SGD
from nnlib.train import fit


def build(make, engine):
    previous = nnlib.set_engine(engine)
    try:
        return make()
    finally:
        nnlib.set_engine(previous)


def test_residual_passes_the_gradient_check_around_a_layer_and_a_network(away_from_kinks):
    x = np.random.default_rng(0).standard_normal((5, 4))
    assert check_layer(Residual(Dense(4, 4, rng=0, dtype=np.float64)), x, rng=1) < 1e-7
    block = Sequential([Dense(4, 6, rng=1, dtype=np.float64), Tanh(),
                        Dense(6, 4, rng=2, dtype=np.float64)])  # fmt: skip
    assert check_layer(Residual(block), x, rng=2) < 1e-7
    deep = build(
        lambda: Sequential([
            Dense(4, 4, rng=3, dtype=np.float64),
            # BatchNorm after Tanh: straight after Dense, the bias's gradient would be
            # exactly 0 (the mean subtraction removes it) and its relative error noise.
            Residual(Sequential([Dense(4, 4, rng=4, dtype=np.float64), Tanh(),
                                 BatchNorm1d(4, dtype=np.float64)])),
            Residual(Dense(4, 4, rng=5, dtype=np.float64)),
            Dense(4, 3, rng=6, dtype=np.float64),
        ]),
        True,
    )  # fmt: skip
    assert check_layer(deep, away_from_kinks(x), rng=3, training=True) < 1e-7


def test_the_output_is_x_plus_the_block():
    layer = Dense(3, 3, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 3))
    out = Residual(layer).forward(x)
    np.testing.assert_array_equal(out, x + layer.forward(x))


def test_keys_are_the_blocks_with_the_position_as_prefix():
    model = Sequential([
        Dense(4, 4, rng=0),
        Residual(Sequential([Dense(4, 4, rng=1), BatchNorm1d(4), ReLU()])),
        Residual(Dense(4, 4, rng=2)),
        Dense(4, 2, rng=3),
    ])  # fmt: skip
    assert list(model.params) == ["0.W", "0.b", "1.0.W", "1.0.b", "1.1.gamma", "1.1.beta",
                                  "2.W", "2.b", "3.W", "3.b"]  # fmt: skip
    assert list(model.grads) == list(model.params)
    assert list(model.buffers) == ["1.1.running_mean", "1.1.running_var"]
    assert list(model.layers[1].params) == ["0.W", "0.b", "1.gamma", "1.beta"]
    assert "Residual(Sequential([Dense(4, 4), BatchNorm1d(4), ReLU()]))" in str(model.summary((4,)))


def test_residual_blocks_share_the_outer_flat_buffer():
    inner = Sequential([Dense(3, 3, rng=0), ReLU()])
    model = Sequential([Residual(inner), Residual(Dense(3, 3, rng=1)), Dense(3, 2, rng=2)])
    flat = model.params.flat
    assert flat is not None and flat.size == 3 * 3 + 3 + 3 * 3 + 3 + 3 * 2 + 2
    assert inner._flat is None  # its parameters moved into the outer buffer
    assert all(np.shares_memory(p, flat) for p in model.params.values())
    assert all(np.shares_memory(g, model.grads.flat) for g in model.grads.values())


def test_errors():
    with pytest.raises(TypeError, match="Residual: block is 3, not a Layer"):
        Residual(3)
    with pytest.raises(ValueError, match=r"x \+ block\(x\) needs the same shape"):
        Residual(Dense(3, 4)).forward(np.zeros((2, 3), np.float32))
    relu = ReLU()
    with pytest.raises(
        ValueError, match=r"layer 1.block \(ReLU\(\)\) is the same object as layer 0"
    ):
        Sequential([relu, Residual(relu)])


def make_mlp(dtype=np.float64):
    return Sequential([
        Dense(6, 8, rng=0, dtype=dtype), ReLU(),
        Residual(Sequential([Dense(8, 8, rng=1, dtype=dtype), BatchNorm1d(8, dtype=dtype), ReLU(),
                             Dense(8, 8, rng=2, dtype=dtype)])),
        ReLU(),
        Residual(Dense(8, 8, rng=3, dtype=dtype)),
        Dense(8, 3, rng=4, dtype=dtype),
    ])  # fmt: skip


def make_cnn(dtype=np.float64):
    return Sequential([
        Conv2D(1, 4, 3, padding=1, rng=0, dtype=dtype), BatchNorm2d(4, dtype=dtype), ReLU(),
        Residual(Sequential([Conv2D(4, 4, 3, padding=1, rng=1, dtype=dtype),
                             BatchNorm2d(4, dtype=dtype), ReLU()])),
        Flatten(), Dense(4 * 6 * 6, 3, rng=2, dtype=dtype),
    ])  # fmt: skip


@pytest.mark.parametrize("make, shape", [(make_mlp, (7, 6)), (make_cnn, (5, 1, 6, 6))],
                         ids=["mlp", "cnn"])  # fmt: skip
@pytest.mark.parametrize("training", [True, False])
def test_engine_on_and_off_give_the_same_forward_and_backward(make, shape, training):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal((shape[0], 3))
    results = []
    for engine in (True, False):
        net = build(make, engine)
        previous = nnlib.set_engine(engine)
        try:
            out = net.forward(x, training=training)
            dx = net.backward(dout)
        finally:
            nnlib.set_engine(previous)
        results.append((out, dx, {k: g.copy() for k, g in net.grads.items()}, net.buffers))
    (out_f, dx_f, g_f, b_f), (out_p, dx_p, g_p, b_p) = results
    assert rel_error(out_f, out_p) < 1e-12 and rel_error(dx_f, dx_p) < 1e-12
    assert list(g_f) == list(g_p)
    for key in g_p:  # (absolute tolerance: a bias just before BatchNorm has gradient 0)
        np.testing.assert_allclose(g_f[key], g_p[key], rtol=1e-12, atol=1e-14, err_msg=key)
    for key in b_p:
        np.testing.assert_allclose(b_f[key], b_p[key], rtol=1e-12, atol=1e-14, err_msg=key)


@pytest.mark.parametrize("make, shape", [(make_mlp, (64, 6)), (make_cnn, (48, 1, 6, 6))],
                         ids=["mlp", "cnn"])  # fmt: skip
def test_fit_with_and_without_the_engine_follows_one_path(make, shape):
    """The same losses, parameters and running statistics, to float32 rounding. (With SGD:
    a bias just before BatchNorm has gradient 0 plus rounding noise, which Adam would scale
    up into a random walk of its own in each run.)"""
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, shape[0])
    finals = []
    for engine in (True, False):
        model = build(lambda: make(np.float32), engine)
        previous = nnlib.set_engine(engine)
        try:
            history = fit(model, SoftmaxCrossEntropy(), SGD(0.05, momentum=0.9), X, y,
                          epochs=3, batch_size=16, rng=1, progress=False)  # fmt: skip
        finally:
            nnlib.set_engine(previous)
        finals.append((history.loss, {**model.params, **model.buffers}))
    (loss_f, state_f), (loss_p, state_p) = finals
    np.testing.assert_allclose(loss_f, loss_p, rtol=1e-5)
    assert list(state_f) == list(state_p)
    for key in state_p:
        np.testing.assert_allclose(state_f[key], state_p[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert loss_f[-1] < loss_f[0]


def test_a_nan_inside_a_residual_block_is_reported_as_divergence():
    """An inner network's input is an activation: NaN there is training diverging, which
    the loss reports with its advice, not bad data (the outer network checks the data)."""
    from nnlib.train import TrainingDiverged

    model = Sequential([Dense(3, 3, rng=0), Residual(Sequential([Dense(3, 3, rng=1), ReLU()])),
                        Dense(3, 2, rng=2)])  # fmt: skip

    class Poison:  # a weight becomes inf once training has begun, as in a divergence
        def on_train_begin(self, history):
            model.layers[0].params["W"][0, 0] = np.inf

    X, y = np.ones((4, 3), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(TrainingDiverged, match="try a smaller learning rate"):
        fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, batch_size=4,
            callbacks=[Poison()], progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="the input of shape .* contains NaN or inf"):
        model.forward(np.full((2, 3), np.nan, np.float32))
