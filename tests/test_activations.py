"""nnlib.activations: every derivative against central differences, and stability."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import activations as act
from nnlib.gradcheck import numerical_gradient, rel_error

TOL = 1e-6
PAIRS = [
    (act.sigmoid, act.sigmoid_grad),
    (act.tanh, act.tanh_grad),
    (act.relu, act.relu_grad),
    (act.leaky_relu, act.leaky_relu_grad),
    (lambda z: act.leaky_relu(z, alpha=0.2), lambda z: act.leaky_relu_grad(z, alpha=0.2)),
]


@settings(max_examples=8, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 6)),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.5, 3.0]),
)
def test_derivatives_match_central_differences(shape, seed, scale):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * scale
    z = np.where(np.abs(z) < 1e-3, 0.1, z)  # off the kink of relu and leaky relu
    for f, df in PAIRS:
        num = numerical_gradient(lambda v, f=f: float(np.sum(f(v))), z.copy())
        assert df(z).shape == z.shape
        assert rel_error(df(z), num) < TOL


@settings(max_examples=8, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(2, 6)), seed=st.integers(0, 2**16))
def test_softmax_jacobian_matches_central_differences(shape, seed):
    """d softmax_k / d z_j = s_k (delta_kj - s_j), row by row."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * 2
    w = rng.standard_normal(shape)  # L = sum(w * softmax(z)), so dL/dz = s * (w - sum(w s))
    s = act.softmax(z)
    analytic = s * (w - np.sum(w * s, axis=-1, keepdims=True))
    num = numerical_gradient(lambda v: float(np.sum(w * act.softmax(v))), z.copy())
    assert rel_error(analytic, num) < TOL


def test_values_at_known_points():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(act.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(act.relu(z), [0, 0, 3])
    np.testing.assert_allclose(act.leaky_relu(z, alpha=0.1), [-0.2, 0, 3])
    np.testing.assert_allclose(act.relu_grad(z), [0, 0, 1])  # 0 at the kink, as PyTorch
    np.testing.assert_allclose(act.leaky_relu_grad(z, alpha=0.1), [0.1, 0.1, 1])
    assert act.sigmoid_grad(np.array(0.0)) == 0.25 and act.tanh_grad(np.array(0.0)) == 1


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    # pytest turns NumPy's overflow RuntimeWarning into an error, so no warning may occur.
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    s = act.sigmoid(z)
    assert np.all(np.isfinite(s)) and s[0] == 0 and s[-1] == 1
    logits = np.array([[1000.0, 0.0, -1000.0], [5000.0, 5000.0, 0.0], [-3000.0, -3000.0, 0]])
    p = act.softmax(logits)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0])


def test_softmax_is_shift_invariant_and_respects_axis():
    z = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(act.softmax(z), act.softmax(z + 100), rtol=1e-12)
    np.testing.assert_allclose(act.softmax(z, axis=0), act.softmax(z.T).T, rtol=1e-15)


@pytest.mark.parametrize("f", [act.sigmoid, act.tanh, act.relu, act.leaky_relu, act.softmax])
def test_float32_stays_float32(f):
    z = np.ones((2, 3), np.float32)
    assert f(z).dtype == np.float32
