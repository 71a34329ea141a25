"""nnlib.autograd: every operation's gradient against numerical gradients, the hand-written
layers and PyTorch, and the errors a reader meets when using it wrongly."""

import numpy as np
import pytest

from nnlib.autograd import Tensor, cross_entropy, log_softmax, record, topological_order
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.layers import Dense, ReLU
from nnlib.losses import SoftmaxCrossEntropy

TOL = 1e-7


def check_gradients(f, *arrays, seed=0):
    """Worst rel_error between autograd and central differences of sum(f(...) * G).

    f takes Tensors and returns a Tensor; arrays are float64 inputs. backward(G) is
    called on f's output with a random G of its shape, so every element of the
    output takes part, and the numerical gradient is that of the same scalar.
    """
    rng = np.random.default_rng(seed)
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    G = rng.standard_normal(out.shape)
    out.backward(G)

    def scalar(_):
        return float(np.sum(f(*[Tensor(a) for a in arrays]).data * G))

    errors = []
    for t, a in zip(tensors, arrays):
        assert t.grad is not None and t.grad.shape == a.shape
        errors.append(rel_error(t.grad, numerical_gradient(scalar, a)))
    return max(errors)


def randn(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def away_from_zero(x):
    return np.where(np.abs(x) < 0.1, 0.5, x)


# ---- every operation against numerical gradients ----------------------------------------

BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (3, 4)),  # no broadcasting
        ((3, 4), (4,)),  # the right operand broadcast over rows (a bias)
        ((4,), (3, 4)),  # the left operand broadcast
        ((3, 1), (1, 4)),  # both broadcast at once
        ((2, 3, 4), (3, 1)),  # a new leading axis and a stretched axis
        ((), (3, 4)),  # a scalar tensor
    ],
)
def test_binary_operations_with_broadcasting(op, shape_a, shape_b):
    a, b = randn(*shape_a, seed=2), away_from_zero(randn(*shape_b, seed=3))
    assert check_gradients(BINARY[op], a, b) < TOL


@pytest.mark.parametrize("op", BINARY)
def test_python_numbers_on_either_side(op):
    x = away_from_zero(randn(3, 2))
    f = BINARY[op]
    assert check_gradients(lambda t: f(t, 2.5), x) < TOL
    assert check_gradients(lambda t: f(-1.5, t), x) < TOL
    assert np.allclose(f(Tensor(x), 2.5).data, f(x, 2.5))
    assert np.allclose(f(-1.5, Tensor(x)).data, f(-1.5, x))


def test_numpy_arrays_on_the_left_give_tensors():
    x, A = randn(3, 4), randn(2, 3, seed=5)
    t = Tensor(x, requires_grad=True)
    for out in (A @ t, np.ones(4) * t, np.ones(4) + t, np.ones(4) - t, np.ones(4) / (t + 10)):
        assert isinstance(out, Tensor) and out.requires_grad
    assert check_gradients(lambda t: A @ t, x) < TOL
    assert check_gradients(lambda t: np.arange(1.0, 5.0) / (t * t + 1), x) < TOL


def test_unary_minus_and_constant_powers():
    x = np.abs(randn(3, 4)) + 0.5
    assert check_gradients(lambda t: -t, x) < TOL
    for p in (2, 3, 0.5, -1, -1.5):
        assert check_gradients(lambda t, p=p: t**p, x) < TOL
    assert np.allclose((Tensor(x) ** 0.5).data, np.sqrt(x))


@pytest.mark.parametrize(
    "shape_a, shape_b", [((3, 4), (4, 5)), ((1, 4), (4, 1)), ((2, 3, 4), (4, 5))]
)
def test_matmul(shape_a, shape_b):
    a, b = randn(*shape_a, seed=6), randn(*shape_b, seed=7)
    assert check_gradients(lambda x, y: x @ y, a, b) < TOL


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu"])
def test_elementwise_functions(name):
    x = away_from_zero(randn(4, 5) * 2)
    if name == "log":
        x = np.abs(x)
    assert check_gradients(lambda t: getattr(t, name)(), x) < TOL
    reference = {
        "exp": np.exp,
        "log": np.log,
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
    }[name]
    assert np.allclose(getattr(Tensor(x), name)().data, reference(x))


def test_relu_passes_no_gradient_where_its_input_is_negative_or_zero():
    t = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    t.relu().sum().backward()
    assert t.grad.tolist() == [0.0, 0.0, 1.0]


def test_sigmoid_is_stable_for_large_inputs():
    t = Tensor([-1000.0, 1000.0], requires_grad=True)
    t.sigmoid().sum().backward()
    assert np.all(np.isfinite(t.data)) and np.all(np.isfinite(t.grad))


@pytest.mark.parametrize("method", ["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(method, axis, keepdims):
    x = randn(2, 3, 4)
    assert check_gradients(lambda t: getattr(t, method)(axis=axis, keepdims=keepdims), x) < TOL
    out = getattr(Tensor(x), method)(axis=axis, keepdims=keepdims)
    assert np.allclose(out.data, getattr(x, method)(axis=axis, keepdims=keepdims))


def test_reshape_and_transpose():
    x = randn(2, 6)
    assert check_gradients(lambda t: t.reshape(3, 4) * np.arange(12.0).reshape(3, 4), x) < TOL
    assert check_gradients(lambda t: t.reshape((4, -1)), x) < TOL
    assert Tensor(x).reshape(3, -1).shape == (3, 4)
    assert check_gradients(lambda t: t.T @ t, x) < TOL
    assert np.array_equal(Tensor(x).T.data, x.T)


@pytest.mark.parametrize(
    "index",
    [
        1,
        (1, 2),
        slice(1, 3),
        (slice(None), slice(0, 4, 2)),
        np.array([2, 0]),
        (np.array([0, 2, 1]), np.array([3, 3, 0])),
        np.array([1, 1, 1, 0]),  # repeated rows
        (np.array([0, 0, 2, 0]), np.array([1, 1, 3, 1])),  # one element read three times
        -1,
    ],
)
def test_indexing(index):
    x = randn(3, 5)
    assert check_gradients(lambda t: t[index] * 1.5, x) < TOL
    assert np.array_equal(Tensor(x)[index].data, x[index])


def test_repeated_indices_add_up():
    t = Tensor(np.arange(4.0), requires_grad=True)
    t[np.array([0, 2, 0, 0])].sum().backward()
    assert t.grad.tolist() == [3.0, 0.0, 1.0, 0.0]


def test_log_softmax_and_cross_entropy():
    x = randn(5, 4) * 3
    labels = np.array([0, 3, 3, 1, 2])
    assert check_gradients(lambda t: log_softmax(t), x) < TOL
    assert check_gradients(lambda t: log_softmax(t, axis=0), x) < TOL
    assert check_gradients(lambda t: cross_entropy(t, labels), x) < TOL
    expected = np.log(np.exp(x).sum(axis=1)) - x[np.arange(5), labels]
    assert np.isclose(cross_entropy(Tensor(x), labels).data, expected.mean())


def test_cross_entropy_is_stable_and_equals_the_fused_loss():
    x = randn(6, 3) * 1000  # logits in the thousands: exp would overflow without the shift
    labels = np.array([0, 1, 2, 2, 1, 0])
    t = Tensor(x, requires_grad=True)
    loss = cross_entropy(t, labels)
    loss.backward()
    fused = SoftmaxCrossEntropy()
    assert np.isfinite(loss.data) and np.all(np.isfinite(t.grad))
    assert np.isclose(loss.data, fused.forward(x, labels), rtol=1e-12)
    assert rel_error(t.grad, fused.backward()) < 1e-12


# ---- the graph: reuse, accumulation, constants --------------------------------------------


def test_a_value_used_twice_gets_the_sum_of_its_gradients():
    x = randn(3, 4)
    assert check_gradients(lambda t: t * t, x) < TOL
    assert check_gradients(lambda t: t + t, x) < TOL
    # a used along two paths of different lengths, and b on a diamond a -> (c, d) -> e
    assert check_gradients(lambda a, b: ((a * b).tanh() + a) * a.exp(), x, randn(4)) < TOL
    t = Tensor(2.0, requires_grad=True)
    (t * t * t).backward()
    assert t.grad == 12.0  # 3 t^2


def test_gradients_accumulate_across_backward_calls_until_reset():
    w = Tensor(randn(3), requires_grad=True)
    (w * w).sum().backward()
    first = w.grad.copy()
    assert np.allclose(first, 2 * w.data)
    (w * w).sum().backward()
    assert np.allclose(w.grad, 2 * first)
    w.zero_grad()
    assert w.grad is None
    (3 * w).sum().backward()
    assert np.allclose(w.grad, 3.0)
    w.grad = None  # the other documented way
    (w * 2).sum().backward()
    assert np.allclose(w.grad, 2.0)


def test_backward_twice_through_the_same_graph_doubles_every_gradient():
    a = Tensor(randn(2, 3), requires_grad=True)
    hidden = a.tanh()
    loss = (hidden * hidden).sum()
    loss.backward()
    once_a, once_hidden = a.grad.copy(), hidden.grad.copy()
    loss.backward()
    assert np.allclose(a.grad, 2 * once_a) and np.allclose(hidden.grad, 2 * once_hidden)


def test_intermediate_tensors_hold_their_gradient():
    x = Tensor(randn(4, 3), requires_grad=True)
    W = Tensor(randn(3, 2, seed=4), requires_grad=True)
    z = x @ W
    (z * z).sum().backward()
    assert np.allclose(z.grad, 2 * z.data)
    assert np.allclose(W.grad, x.data.T @ z.grad)


def test_constants_are_not_recorded_and_get_no_gradient():
    c = Tensor(randn(3))
    w = Tensor(randn(3), requires_grad=True)
    assert not (c * 2).requires_grad and (c * 2)._parents == ()
    (c * w).sum().backward()
    assert c.grad is None and np.allclose(w.grad, c.data)


def test_topological_order_puts_inputs_first_and_each_tensor_once():
    a = Tensor(1.0, requires_grad=True)
    b = a * 2
    c = a + b
    d = c * b
    order = topological_order(d)
    assert len(order) == len(set(map(id, order)))
    position = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for parent in t._parents:
            assert position[id(parent)] < position[id(t)]
    assert order[-1] is d


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert np.isclose(x.grad, 1.0001**5000)


def test_dtypes_are_kept():
    t = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    out = (2 * t + 1) / 3 - t**2
    assert out.data.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32
    assert Tensor([1, 2]).data.dtype == np.float64  # integers become floats


def test_a_new_operation_with_record():
    """The way the chapter's exercise adds an operation: record(op, data, (input, vjp))."""

    def cube(x):
        return record("cube", x.data**3, (x, lambda dout: dout * 3 * x.data**2))

    assert check_gradients(lambda t: cube(t) * t, randn(3, 2)) < TOL


# ---- against the hand-written layers and PyTorch ------------------------------------------


def test_two_layer_network_matches_the_hand_written_layers():
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((16, 7)), rng.integers(0, 5, 16)
    dense1 = Dense(7, 6, rng=rng, dtype=np.float64)
    dense2 = Dense(6, 5, rng=rng, dtype=np.float64)
    dense1.params["b"][...] = rng.standard_normal(6)
    relu, loss_fn = ReLU(), SoftmaxCrossEntropy()
    loss = loss_fn.forward(dense2.forward(relu.forward(dense1.forward(X))), y)
    dense1.backward(relu.backward(dense2.backward(loss_fn.backward())))

    W1, b1, W2, b2 = (
        Tensor(layer.params[k].copy(), requires_grad=True)
        for layer in (dense1, dense2)
        for k in ("W", "b")
    )
    auto_loss = cross_entropy((X @ W1 + b1).relu() @ W2 + b2, y)
    auto_loss.backward()
    assert np.isclose(auto_loss.data, loss, rtol=1e-13)
    for t, layer, k in [(W1, dense1, "W"), (b1, dense1, "b"), (W2, dense2, "W"), (b2, dense2, "b")]:
        assert rel_error(t.grad, layer.grads[k]) < 1e-12, k


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    arrays = {"W1": rng.standard_normal((5, 4)), "b1": rng.standard_normal(4),
              "W2": rng.standard_normal((4, 3)), "s": rng.standard_normal((1, 3))}  # fmt: skip

    def forward(X, p, F):
        """One expression with every operation, for either library (F: its functions)."""
        h = F["relu"](X @ p["W1"] + p["b1"])
        h = h + F["tanh"](h) * F["sigmoid"](-h) - h**2 / 4
        z = h @ p["W2"] * F["exp"](p["s"]) + 1.0
        z = z - F["log"](z * z + 1).mean(axis=0, keepdims=True) * 0.5
        z = z[np.array([0, 1, 1, 2, 3, 4, 5, 6, 7, 7])].T.reshape(10, 3)
        return F["cross_entropy"](z, np.concatenate([y, y[:2]])) + (z.sum() / 100) ** 2

    ours = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
    F_ours = {
        "relu": Tensor.relu, "tanh": Tensor.tanh, "sigmoid": Tensor.sigmoid,
        "exp": Tensor.exp, "log": Tensor.log, "cross_entropy": cross_entropy,
    }  # fmt: skip
    loss = forward(X, ours, F_ours)
    loss.backward()

    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    F_torch = {
        "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "exp": torch.exp, "log": torch.log,
        "cross_entropy": lambda z, t: torch.nn.functional.cross_entropy(z, torch.tensor(t)),
    }  # fmt: skip
    torch_loss = forward(torch.tensor(X), theirs, F_torch)  # torch accepts axis=, keepdims=
    torch_loss.backward()
    assert np.isclose(loss.data, torch_loss.item(), rtol=1e-12)
    for k in arrays:
        assert rel_error(ours[k].grad, theirs[k].grad.numpy()) < 1e-12, k


# ---- errors that say what was wrong and what was expected ----------------------------------


def test_backward_on_a_non_scalar_needs_a_gradient():
    t = Tensor(randn(2, 3), requires_grad=True)
    with pytest.raises(ValueError, match=r"scalar.*shape \(2, 3\).*pass grad"):
        (t * 2).backward()
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(3,\)"):
        (t * 2).backward(np.ones(3))


def test_backward_on_a_constant_says_nothing_requires_a_gradient():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor([1.0, 2.0]) * 2).sum().backward()


def test_bad_operands_are_refused_with_the_shapes():
    t = Tensor(randn(2, 3), requires_grad=True)
    with pytest.raises(TypeError, match="constant Python number"):
        t ** Tensor(2.0)
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(2, 3\) and \(3,\)"):
        t @ Tensor(randn(3))
    with pytest.raises(ValueError, match=r"2-D tensor, got shape \(2, 3, 1\)"):
        _ = t.reshape(2, 3, 1).T


def test_cross_entropy_checks_its_inputs():
    logits = Tensor(randn(4, 3), requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        cross_entropy(Tensor(randn(4)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"integer labels of shape \(4,\)"):
        cross_entropy(logits, np.zeros(4))
    with pytest.raises(ValueError, match=r"integer labels of shape \(4,\)"):
        cross_entropy(logits, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"in \[0, 2\] for 3 classes.*from 0 to 3"):
        cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="empty batch"):
        cross_entropy(Tensor(np.zeros((0, 3))), np.zeros(0, dtype=int))


def test_a_vjp_of_the_wrong_shape_is_named():
    x = Tensor(randn(2, 3), requires_grad=True)
    bad = record("bad", x.data.sum(axis=1), (x, lambda dout: dout))  # forgot to broadcast back
    with pytest.raises(ValueError, match=r"VJP of 'bad'.*shape \(2,\).*input of shape \(2, 3\)"):
        bad.sum().backward()
