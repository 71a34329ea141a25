"""Hidden tests for Chapter 1's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_1_1():
    rng = np.random.default_rng(1101)
    Z = rng.standard_normal((9, 7)) * 3000 + 500
    P = stable_softmax(Z)
    assert np.shape(P) == (9, 7) and np.all(np.isfinite(P))
    assert np.allclose(P.sum(axis=1), 1)
    assert rel_error(P, act.softmax(Z)) < 1e-10
    assert rel_error(stable_softmax(Z + 123.0), P) < 1e-10  # shift invariance


def test_1_2():
    rng = np.random.default_rng(1102)
    X, W, b = rng.standard_normal((11, 5)), rng.standard_normal((5, 8)), rng.standard_normal(8)
    out = dense_forward(X, W, b)
    assert np.shape(out) == (11, 8)
    assert np.allclose(out, np.maximum(np.einsum("nd,dm->nm", X, W) + b, 0))
    assert (out >= 0).all()


def test_1_3():
    z = np.random.default_rng(1103).uniform(-30, 30, (4, 6))
    d = sigmoid_derivative(z)
    numeric = numerical_gradient(lambda v: np.sum(act.sigmoid(v)), z.copy())
    assert np.shape(d) == (4, 6)
    assert rel_error(d, numeric) < 1e-6
    assert np.all(d <= 0.25 + 1e-12) and np.all(d >= 0)
