"""Hidden tests for Chapter 4's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_4_1():
    rng = np.random.default_rng(4101)
    layer = MyScaleShift(8, rng=rng)
    layer.params["gamma"][...] = rng.standard_normal(8) * 2
    layer.params["beta"][...] = rng.standard_normal(8)
    gg, gb = layer.grads["gamma"], layer.grads["beta"]
    assert check_layer(layer, rng.standard_normal((13, 8)), rng=rng) < 1e-7
    assert layer.grads["gamma"] is gg and layer.grads["beta"] is gb
    # the three formulas, on one batch: column sums, and dout scaled feature by feature
    x, d = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    layer.forward(x)
    dx = layer.backward(d)
    first = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(d)  # a second backward must give the same gradients, not add them again
    assert all(np.allclose(layer.grads[k], first[k]) for k in first), (
        "write the gradients into the arrays, do not add to them"
    )
    assert np.allclose(layer.grads["gamma"], (d * x).sum(axis=0))
    assert np.allclose(layer.grads["beta"], d.sum(axis=0))
    assert np.allclose(dx, d * layer.params["gamma"])


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
    block = MyResidual(
        [Dense(3, 4, **f64), Sigmoid(), Dense(4, 4, **f64), Tanh(), Dense(4, 3, **f64)]
    )
    x, G = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))

    def loss(_):
        return np.sum(block.forward(x) * G)

    out = block.forward(x)
    inner = x
    for layer in block.layers:
        inner = layer.forward(inner)
    assert np.allclose(out, x + inner), "forward must return x + F(x)"
    block.forward(x)
    dx = block.backward(G)
    assert rel_error(dx, numerical_gradient(loss, x)) < 1e-7
    for i in (0, 2, 4):  # (inside a loop, otter's doctest would print a bare call's value)
        _ = block.forward(x)
        _ = block.backward(G)
        analytic = block.layers[i].grads["W"].copy()
        assert rel_error(analytic, numerical_gradient(loss, block.layers[i].params["W"])) < 1e-7
    # a block of one layer: dx = dout + dout W^T
    single = MyResidual([Dense(3, 3, **f64)])
    single.forward(x)
    W = single.layers[0].params["W"]
    assert np.allclose(single.backward(G), G + G @ W.T)
