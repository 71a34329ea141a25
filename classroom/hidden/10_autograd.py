"""Hidden tests for Chapter 10's exercises (run inside the student's notebook by otter).

They use shapes, axes and compositions the public checks do not: a VJP written for 2-D
inputs only, a gradient fixed only for square inputs, or a layer norm over the wrong axis
passes the public check and fails here.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_10_1():
    rng = np.random.default_rng(10101)
    x = rng.standard_normal((4, 3, 2))
    for axis in (0, 1, -1):
        t = Tensor(x, requires_grad=True)
        y = cumsum(t, axis=axis)
        assert np.allclose(y.data, np.cumsum(x, axis=axis))
        G = rng.standard_normal(x.shape)
        y.backward(G)
        numeric = numerical_gradient(lambda _, a=axis, G=G: np.sum(np.cumsum(x, axis=a) * G), x)
        assert rel_error(t.grad, numeric) < 1e-7, f"axis={axis}"
    # Inside a larger expression, with the default axis: the engine must chain through it.
    v = Tensor(rng.standard_normal(6), requires_grad=True)
    (cumsum(v * v).tanh()).sum().backward()
    numeric = numerical_gradient(lambda a: np.sum(np.tanh(np.cumsum(a * a))), v.data.copy())
    assert rel_error(v.grad, numeric) < 1e-7


def test_10_2():
    # The name asked for: the buggy function's other three gradients are right.
    assert wrong_gradient in {"dx", "dW1", "db1", "dW2"}, "answer one of the four names"
    assert wrong_gradient == "dW1", f"{wrong_gradient} of residual_backward_buggy is right"
    rng = np.random.default_rng(10201)
    x, W1, b1, W2 = (rng.standard_normal(s) for s in [(6, 2), (2, 7), (7,), (7, 2)])
    b1[::2] += 2.0  # some units on, some off
    G = rng.standard_normal((6, 2))
    _, cache = residual_forward(x, W1, b1, W2)
    grads = residual_backward(G, cache)
    for name, array, grad in zip(["dx", "dW1", "db1", "dW2"], [x, W1, b1, W2], grads):
        numeric = numerical_gradient(
            lambda _: np.sum(residual_forward(x, W1, b1, W2)[0] * G), array
        )
        assert np.shape(grad) == array.shape, name
        assert rel_error(grad, numeric) < 1e-7, name


def test_10_3():
    rng = np.random.default_rng(10301)
    for shape, eps in [((3, 8), 1e-5), ((5, 2), 0.1), ((1, 4), 1e-3)]:
        x = rng.standard_normal(shape) * 4 - 7
        G = rng.standard_normal(shape)
        t = Tensor(x, requires_grad=True)
        y = layer_norm(t, eps=eps)
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        assert np.allclose(y.data, (x - mu) / np.sqrt(var + eps)), (shape, eps)
        y.backward(G)

        def f(a, eps=eps, G=G):  # numerical_gradient calls f with x itself, nudged
            m, v = a.mean(axis=1, keepdims=True), a.var(axis=1, keepdims=True)
            return np.sum((a - m) / np.sqrt(v + eps) * G)

        assert rel_error(t.grad, numerical_gradient(f, x)) < 1e-7, (shape, eps)
        assert np.allclose(t.grad.sum(axis=1), 0, atol=1e-9)
