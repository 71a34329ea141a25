"""Hidden tests for Chapter 4's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_4_1():
    rng = np.random.default_rng(4101)
    layer = MyDense(3, 8, rng=rng)
    gW, gb = layer.grads["W"], layer.grads["b"]
    assert check_layer(layer, rng.standard_normal((13, 3)), rng=rng) < 1e-7
    assert layer.grads["W"] is gW and layer.grads["b"] is gb
    # one example: dW is the outer product of x and dout
    x, d = rng.standard_normal((1, 3)), rng.standard_normal((1, 8))
    layer.forward(x)
    dx = layer.backward(d)
    assert np.allclose(layer.grads["W"], x.T @ d) and np.allclose(dx, d @ layer.params["W"].T)


def test_4_2():
    rng = np.random.default_rng(4201)
    x = rng.standard_normal((7, 5)) * 4 + 300  # large logits: the forward pass must be stable
    layer = MySoftmax()
    out = layer.forward(x)
    assert np.all(np.isfinite(out)) and np.allclose(out.sum(axis=1), 1)
    assert check_layer(MySoftmax(), x - 300, rng=rng) < 1e-7
    # the VJP against the explicit Jacobian diag(p) - p p^T, row by row
    dout = rng.standard_normal((7, 5))
    dx = layer.backward(dout)
    for n in range(7):
        p = out[n]
        assert np.allclose(dx[n], (np.diag(p) - np.outer(p, p)) @ dout[n])
    # softmax followed by -mean log p[y] has the gradient (P - Y) / N of Chapter 2
    y = rng.integers(0, 5, 7)
    dP = np.zeros((7, 5))
    dP[np.arange(7), y] = -1 / (7 * out[np.arange(7), y])
    Y = np.eye(5)[y]
    assert np.allclose(layer.backward(dP), (out - Y) / 7)


def test_4_3():
    rng = np.random.default_rng(4301)
    x = rng.standard_normal((5, 2, 3)) * 4
    assert np.allclose(MySiLU().forward(x), x / (1 + np.exp(-x)))
    assert check_layer(MySiLU(), x, rng=rng) < 1e-7
    assert check_layer(MySiLU(), rng.standard_normal((8, 1)), rng=rng) < 1e-7


def test_4_4():
    rng = np.random.default_rng(4401)
    f64 = {"rng": rng, "dtype": np.float64}
    layers = [Dense(3, 4, **f64), Sigmoid(), Dense(4, 4, **f64), Tanh(), Dense(4, 2, **f64)]
    x, G = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def loss(_):
        out = x
        for layer in layers:
            out = layer.forward(out)
        return np.sum(out * G)

    loss(None)
    dx = sequential_backward(layers, G)
    assert rel_error(dx, numerical_gradient(loss, x)) < 1e-7
    loss(None)
    sequential_backward(layers, G)
    W = layers[2].params["W"]
    assert rel_error(layers[2].grads["W"].copy(), numerical_gradient(loss, W)) < 1e-7
