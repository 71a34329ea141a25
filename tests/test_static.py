"""nnlib.static: the hand-derived network, and the Sequential that must agree with it."""

import ast
import inspect
import textwrap

import numpy as np
import pytest

from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.static import StaticMLP


def test_static_and_sequential_give_identical_gradients():
    rng = np.random.default_rng(0)
    static = StaticMLP(32, 16, rng=0)
    seq = static.to_sequential()
    X, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    loss, g_static = static.loss_and_grads(X, y)
    ce = SoftmaxCrossEntropy()
    np.testing.assert_allclose(seq.forward(X), static.Z3, rtol=1e-13)
    assert ce.forward(seq.forward(X), y) == pytest.approx(loss, rel=1e-12)
    seq.backward(ce.backward())
    g_seq = seq.grads
    assert set(g_seq) == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    for l, i in zip((1, 2, 3), (0, 2, 4)):
        np.testing.assert_allclose(g_seq[f"{i}.W"], g_static[f"W{l}"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(g_seq[f"{i}.b"], g_static[f"b{l}"], rtol=1e-12, atol=1e-15)


def test_to_sequential_copies_the_weights():
    static = StaticMLP(8, 4, rng=1)
    seq = static.to_sequential()
    for l, i in zip((1, 2, 3), (0, 2, 4)):
        np.testing.assert_array_equal(seq.params[f"{i}.W"], static.params[f"W{l}"])
    for p in seq.params.values():
        p[...] = 0  # the copy is independent of the static network
    assert static.params["W1"].any()


def test_static_backward_matches_central_differences():
    rng = np.random.default_rng(3)
    static = StaticMLP(5, 4, n_in=6, n_out=3, rng=3)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    _, grads = static.loss_and_grads(X, y)
    for key, p in static.params.items():
        num = numerical_gradient(lambda _: static.loss_and_grads(X, y)[0], p)
        assert rel_error(grads[key], num) < 1e-6, key


def test_static_shapes_and_defaults():
    static = StaticMLP()
    shapes = {k: v.shape for k, v in static.params.items()}
    assert shapes == {
        "W1": (784, 32),
        "b1": (32,),
        "W2": (32, 32),
        "b2": (32,),
        "W3": (32, 10),
        "b3": (10,),
    }
    assert static.params["W1"].dtype == np.float64
    assert static.forward(np.zeros((3, 784))).shape == (3, 10)


def test_forward_and_backward_are_written_out_without_a_loop():
    """The point of the static network: every layer spelled out, no loop over layers."""
    loops = (ast.For, ast.While, ast.comprehension)
    for method in (StaticMLP.forward, StaticMLP.backward):
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
        assert not [node for node in ast.walk(tree) if isinstance(node, loops)], method


def test_static_rejects_the_wrong_width():
    with pytest.raises(
        ValueError, match=r"StaticMLP: expected input of shape \(N, 784\), got \(2, 783\)"
    ):
        StaticMLP().forward(np.zeros((2, 783)))
