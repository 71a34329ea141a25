"""Hidden tests for Chapter 1's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_1_1():
    rng = np.random.default_rng(1101)
    # rows of very different sizes: one shift for the whole batch fails on them
    Z = rng.standard_normal((9, 7)) * 30 + rng.uniform(-1e5, 1e5, (9, 1))
    P = stable_softmax(Z)
    assert np.shape(P) == (9, 7) and np.all(np.isfinite(P))
    assert np.allclose(P.sum(axis=1), 1)
    assert rel_error(P, act.softmax(Z)) < 1e-10
    assert rel_error(stable_softmax(Z + rng.uniform(-500, 500, (9, 1))), P) < 1e-10
    Zb = np.asarray(softmax_breaker(), dtype=float)
    assert Zb.ndim == 2 and np.all(np.isfinite(Zb))
    with np.errstate(all="ignore"):
        e = np.exp(Zb - Zb.max())
        assert np.isnan(e / e.sum(axis=1, keepdims=True)).any()
    assert np.all(np.isfinite(act.softmax(Zb))), "every row's softmax must be well defined"


def test_1_2():
    rng = np.random.default_rng(1102)
    M = 7
    W1, b1, W2 = rng.standard_normal((1, M)), rng.standard_normal(M), rng.standard_normal((M, 1))
    W1[0, 3] = 0.0  # a unit that never switches

    def f(x):
        return np.maximum(np.outer(x, W1[0]) + b1, 0) @ W2[:, 0]

    kinks, slopes = pieces(W1, b1, W2)
    expected = np.sort(np.delete(-b1 / np.where(W1[0] == 0, 1, W1[0]), 3))
    assert np.shape(kinks) == (M - 1,) and np.shape(slopes) == (M,)
    assert np.allclose(kinks, expected)
    edges = np.concatenate([[expected[0] - 2], expected, [expected[-1] + 2]])
    mids = (edges[:-1] + edges[1:]) / 2
    h = 1e-6
    assert np.allclose(slopes, (f(mids + h) - f(mids - h)) / (2 * h), atol=1e-6)
    kinks0, slopes0 = pieces(np.zeros((1, 2)), np.array([1.0, -1.0]), np.ones((2, 1)))
    assert np.size(kinks0) == 0 and np.allclose(slopes0, [0.0])


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
    X = np.vstack([X, [[-4e6, -1e6], [1e6, -5e6], [-2e5, 3e5]]])  # a bias cannot hide these
    out = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    assert np.shape(out) == (206, 1)
    assert np.allclose(out[:, 0], X.max(axis=1))
