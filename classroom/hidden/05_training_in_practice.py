"""Hidden tests for Chapter 5's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_5_1():
    x = np.random.default_rng(5101).standard_normal((30, 4)) * 3
    for p in [0.0, 0.1, 0.5, 0.8]:
        mean, var = dropout_moments(x, p)
        assert np.shape(mean) == np.shape(var) == x.shape
        assert np.allclose(mean, x)
        assert np.allclose(var, x**2 * p / (1 - p))
    # Against sampling: inverted dropout applied many times to one row.
    row = np.array([[2.0, -0.5, 1.0]])
    samples = Dropout(0.6, rng=5102).forward(np.repeat(row, 100_000, axis=0), training=True)
    assert np.allclose(dropout_moments(row[0], 0.6)[1], samples.var(axis=0), rtol=0.04)


def test_5_2():
    rng = np.random.default_rng(5201)
    A = rng.standard_normal((60, 5)) * [3, 0.1, 7, 1, 0] + [1, 2, -5, 0, 4]
    B = rng.standard_normal((20, 5)) * 2
    As, Bs = standardise(A, B)
    mean, std = A.mean(axis=0), A.std(axis=0)
    std = np.where(std == 0, 1, std)
    assert np.allclose(As, (A - mean) / std) and np.allclose(Bs, (B - mean) / std)
    assert not np.allclose(Bs.mean(axis=0), 0)  # the test set keeps the training statistics
    # One new example is not mapped to zero, and a shifted test set stays shifted.
    one = standardise(A, A[2:3] - 4)[1]
    assert np.allclose(one, (A[2:3] - 4 - mean) / std)
    assert np.all(standardise(A, A + 5)[1][:, :4].mean(axis=0) > 0.5)


def test_5_3():
    for D, alpha in [(100, 0.0), (37, 0.2), (500, 1.0), (64, 3.0)]:
        assert np.isclose(leaky_he_std(D, alpha), np.sqrt(2 / ((1 + alpha**2) * D))), (D, alpha)
    assert np.isclose(leaky_he_std(300, 1.0), np.sqrt(1 / 300))  # alpha = 1: LeCun's rule
    # The signal keeps its scale through 25 layers with slope -0.6 (a negative slope works too).
    rng = np.random.default_rng(5301)
    a, first = rng.standard_normal((300, 400)), None
    for _ in range(25):
        z = a @ (rng.standard_normal((400, 400)) * leaky_he_std(400, -0.6))
        first = z.std() if first is None else first
        a = np.where(z > 0, z, -0.6 * z)
    assert 0.4 < z.std() / first < 2.5


def test_5_4():
    rng = np.random.default_rng(5401)
    X = rng.standard_normal((150, 3)) * [1.0, 5.0, 0.2] + [0.0, 20.0, -1.0]
    Xb = np.hstack([X, np.ones((150, 1))])
    H = linear_mse_hessian(X)
    assert np.shape(H) == (4, 4)
    assert np.allclose(H, 2 / 150 * Xb.T @ Xb)
    # The condition number from the mean and std alone, against the Hessian's eigenvalues.
    for xbar, s in [(0.0, 1.0), (0.0, 10.0), (0.0, 0.1), (2.0, 1.0), (-25.0, 3.0), (100.0, 1.0)]:
        z = rng.standard_normal((80, 1))
        x = xbar + s * (z - z.mean()) / z.std()
        lam = np.linalg.eigvalsh(
            2 / 80 * np.hstack([x, np.ones((80, 1))]).T @ np.hstack([x, np.ones((80, 1))])
        )
        assert np.isclose(condition_number(xbar, s), lam[-1] / lam[0], rtol=1e-5), (xbar, s)
    assert np.isclose(condition_number(0.0, 1.0), 1.0)
    assert np.isclose(condition_number(0.0, 10.0), 100.0)


def test_5_5():
    rng = np.random.default_rng(5501)
    w = np.concatenate([rng.uniform(0.5, 2, 5), -rng.uniform(0.5, 2, 6)])
    x = rng.normal(3.0, 4.0, size=1000)
    b = kink_biases(w, x)
    assert np.shape(b) == (11,)
    kinks = -b / w
    assert np.allclose(kinks, np.quantile(x, (np.arange(11) + 0.5) / 11))
    assert np.all(np.diff(kinks) > 0)  # in the order of the units
    # The most crowded of the M + 1 intervals, the outer two included.
    edges = np.array([0.0, 1.0, 2.5, 4.0])
    assert most_crowded(edges, np.array([-2, -1, -0.5, -0.1, 0.5, 3.0])) == 4
    assert most_crowded(edges[::-1], np.array([0.5, 1.5, 2.0, 4.5, 5, 6, 7.0])) == 4
    assert most_crowded(edges, np.array([0.2, 0.4, 0.6, 1.5, 3.0, 3.5])) == 3
    quantiles = np.quantile(x, (np.arange(11) + 0.5) / 11)
    assert abs(most_crowded(quantiles, x) - 1000 / 11) < 1.5  # 1000 / 11 between neighbours
