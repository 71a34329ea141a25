"""Hidden tests for Chapter 2's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_2_1():
    rng = np.random.default_rng(2101)
    a, b = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    g = mse_grad(a, b)
    assert np.shape(g) == (7, 2)
    assert rel_error(g, numerical_gradient(lambda v: np.mean((v - b) ** 2), a.copy())) < 1e-7
    assert np.allclose(mse_grad(b, b), 0)


def test_2_2():
    rng = np.random.default_rng(2102)
    theta, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    before = theta.copy()
    new = gd_step(theta, grad, 0.37)
    assert np.allclose(new, before - 0.37 * grad)
    assert np.array_equal(theta, before), "theta was modified in place"
    # 100 steps on (theta - 3)^2 reach the minimum
    t = np.array([10.0])
    for _ in range(100):
        t = gd_step(t, 2 * (t - 3), 0.1)
    assert abs(t[0] - 3) < 1e-6


def test_2_3():
    rng = np.random.default_rng(2103)
    Z, y = rng.standard_normal((13, 6)) * 4, rng.integers(0, 6, 13)
    ce = SoftmaxCrossEntropy()
    g = cross_entropy_grad(Z.copy(), y)
    assert np.shape(g) == (13, 6)
    assert rel_error(g, numerical_gradient(lambda v: ce.forward(v, y), Z.copy())) < 1e-7
    assert np.allclose(g.sum(axis=1), 0)  # probabilities minus a one-hot sum to zero
