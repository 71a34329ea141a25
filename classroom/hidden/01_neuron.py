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
    sizes = [5, 8, 7, 6, 3]
    shapes = zip(sizes, sizes[1:])
    params = [(rng.standard_normal((d, m)), rng.standard_normal(m)) for d, m in shapes]
    X = rng.standard_normal((11, 5))
    A = X
    for l, (W, b) in enumerate(params):
        Z = np.einsum("nd,dm->nm", A, W) + b
        A = np.maximum(Z, 0) if l < len(params) - 1 else Z
    out = mlp_forward(X, params)
    assert np.shape(out) == (11, 3)
    assert np.allclose(out, A)
    assert (out < 0).any(), "the last layer has no ReLU"


def test_1_3():
    rng = np.random.default_rng(1103)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(7, 2), (2,), (2, 9), (9,)])
    W, b = collapse(W1, b1, W2, b2)
    assert np.shape(W) == (7, 9) and np.shape(b) == (9,)
    X = rng.standard_normal((13, 7))
    assert np.allclose(X @ W + b, (X @ W1 + b1) @ W2 + b2)
    assert np.allclose(np.zeros((1, 7)) @ W + b, b1 @ W2 + b2)


def test_1_4():
    W1, b1, W2, b2 = max_network()
    rng = np.random.default_rng(1104)
    X = np.vstack([rng.uniform(-100, 100, (200, 2)), [[-3.0, -7.0], [-7.0, -3.0], [2.0, 2.0]]])
    out = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    assert np.shape(out) == (203, 1)
    assert np.allclose(out[:, 0], X.max(axis=1))
