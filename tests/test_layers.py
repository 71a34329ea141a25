"""nnlib.layers: gradients against central differences, and the layer contract."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.gradcheck import check_layer, numerical_gradient, rel_error
from nnlib.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh

TOL = 1e-6
shapes = st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 5))


def off_kinks(x):
    return np.where(np.abs(x) < 1e-3, 0.1, x)


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_every_layer_passes_the_gradient_check(shape, seed):
    N, D, M = shape
    rng = np.random.default_rng(seed)
    x = off_kinks(rng.standard_normal((N, D)))
    layers = [Dense(D, M, rng=seed, dtype=np.float64), ReLU(), LeakyReLU(0.1), Sigmoid(), Tanh()]
    for layer in layers:
        assert check_layer(layer, x, rng=seed) < TOL, repr(layer)
    assert check_layer(Flatten(), rng.standard_normal((N, D, M, 2)), rng=seed) < TOL
    # Element-wise layers accept any shape, e.g. images (N, C, H, W).
    x4 = off_kinks(rng.standard_normal((N, 2, D, M)))
    for layer in [ReLU(), LeakyReLU(0.2), Sigmoid(), Tanh()]:
        assert check_layer(layer, x4, rng=seed) < TOL, repr(layer)


@settings(max_examples=5, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_dropout_in_training_mode_passes_the_gradient_check(shape, seed):
    """With its mask held fixed, training-mode dropout is linear: check dx numerically."""
    N, D, _ = shape
    layer = Dropout(0.4, rng=seed)
    x = np.random.default_rng(seed).standard_normal((N, D))
    dout = np.random.default_rng(seed + 1).standard_normal((N, D))
    layer.forward(x, training=True)
    mask = layer._mask.copy()
    dx = layer.backward(dout)
    num = numerical_gradient(lambda v: float(np.sum(v * mask * dout)), x.copy())
    assert rel_error(dx, num) < TOL


def test_dense_writes_gradients_into_its_preallocated_arrays():
    layer = Dense(4, 3, rng=0, dtype=np.float64)
    W_before = layer.params["W"].copy()
    dW, db = layer.grads["W"], layer.grads["b"]
    x = np.random.default_rng(1).standard_normal((5, 4))
    dout = np.random.default_rng(2).standard_normal((5, 3))
    layer.forward(x)
    dx = layer.backward(dout)
    assert layer.grads["W"] is dW and layer.grads["b"] is db  # filled in place
    np.testing.assert_allclose(dW, x.T @ dout)
    np.testing.assert_allclose(db, dout.sum(axis=0))
    np.testing.assert_allclose(dx, dout @ W_before.T)
    np.testing.assert_array_equal(layer.params["W"], W_before)  # backward never updates


def test_dense_reads_its_parameters_at_every_call():
    layer = Dense(2, 2, rng=0)
    layer.params["W"][...] = np.eye(2)
    layer.params["b"][...] = [1, -1]
    np.testing.assert_array_equal(layer.forward(np.array([[3.0, 4.0]])), [[4.0, 3.0]])


def test_dense_is_he_initialised_float32_and_seeded():
    layer = Dense(800, 400, rng=0)
    W, b = layer.params["W"], layer.params["b"]
    assert W.shape == (800, 400) and b.shape == (400,)
    assert W.dtype == b.dtype == np.float32 == layer.grads["W"].dtype
    assert W.std() == pytest.approx(np.sqrt(2 / 800), rel=0.01) and abs(W.mean()) < 1e-3
    assert not b.any()
    same = Dense(800, 400, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(same.params["W"], W)  # int seed and Generator agree
    assert not np.array_equal(Dense(800, 400, rng=1).params["W"], W)
    assert Dense(3, 2, dtype=np.float64).params["W"].dtype == np.float64


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Dropout(0.5)])
def test_elementwise_layers_keep_float32_and_leave_dout_alone(layer):
    x = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    dout = np.ones_like(x)
    out = layer.forward(x, training=True)
    dx = layer.backward(dout)
    assert out.dtype == dx.dtype == np.float32 and out.shape == dx.shape == x.shape
    np.testing.assert_array_equal(dout, 1)
    assert layer.params == {} and layer.grads == {}


def test_relu_and_leaky_relu_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    relu, leaky = ReLU(), LeakyReLU(alpha=0.1)
    np.testing.assert_array_equal(relu.forward(x), [[0, 0, 3]])
    np.testing.assert_array_equal(relu.backward(np.full((1, 3), 5.0)), [[0, 0, 5]])
    np.testing.assert_allclose(leaky.forward(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(leaky.backward(np.full((1, 3), 5.0)), [[0.5, 0.5, 5]])


def test_dropout_is_inverted_and_identity_at_test_time():
    x = np.ones((2000, 50), dtype=np.float32)
    layer = Dropout(0.3, rng=0)
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.7)}
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(out == 0) == pytest.approx(0.3, abs=0.01)
    dout = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout), dout * (out > 0) / 0.7, rtol=1e-6)
    assert layer.forward(x, training=False) is x
    assert layer.backward(dout) is dout
    assert Dropout(0.0).forward(x, training=True) is x


def test_dropout_masks_differ_between_calls_but_repeat_with_the_seed():
    x = np.ones((10, 10))
    a, b = Dropout(0.5, rng=3), Dropout(0.5, rng=3)
    first = a.forward(x, training=True)
    np.testing.assert_array_equal(first, b.forward(x, training=True))
    assert not np.array_equal(first, a.forward(x, training=True))


def test_flatten_reshapes_and_restores():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = Flatten()
    out = layer.forward(x)
    assert out.shape == (2, 60) and np.shares_memory(out, x)
    assert layer.output_shape((7, 3, 4, 5)) == (7, 60)
    assert layer.backward(out).shape == x.shape


def test_backward_needs_forward_and_a_dout_of_the_output_shape():
    with pytest.raises(RuntimeError, match=r"ReLU\(\): backward\(\) called before forward"):
        ReLU().backward(np.ones((2, 2)))
    layer = Dense(3, 2)
    layer.forward(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"Dense\(3, 2\).*dout of shape \(4, 2\).*got \(4, 3\)"):
        layer.backward(np.ones((4, 3), np.float32))


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match=r"Dense: in_features must be an integer >= 1, got 0"):
        Dense(0, 3)
    with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\), got 1"):
        Dropout(1)
