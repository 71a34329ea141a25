"""Hidden tests for Chapter 5's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_5_1():
    x = np.random.default_rng(5101).standard_normal((300, 40)) + 3
    out, mask = dropout_forward(x, 0.6, np.random.default_rng(5102))
    assert out.shape == x.shape == mask.shape
    assert np.allclose(out, x * mask)
    kept = mask != 0
    assert abs(kept.mean() - 0.4) < 0.02
    assert np.allclose(mask[kept], 1 / 0.4)
    # p = 0 keeps everything unscaled
    out0, mask0 = dropout_forward(x, 0.0, np.random.default_rng(1))
    assert np.allclose(out0, x) and np.allclose(mask0, 1)


def test_5_2():
    rng = np.random.default_rng(5201)
    A = rng.standard_normal((60, 5)) * [3, 0.1, 7, 1, 0] + [1, 2, -5, 0, 4]
    B = rng.standard_normal((20, 5)) * 2
    As, Bs = standardise(A, B)
    mean, std = A.mean(axis=0), A.std(axis=0)
    std = np.where(std == 0, 1, std)
    assert np.allclose(As, (A - mean) / std) and np.allclose(Bs, (B - mean) / std)
    assert not np.allclose(Bs.mean(axis=0), 0)  # the test set keeps the training statistics


def test_5_3():
    W = he_init(2000, 50, np.random.default_rng(5301))
    assert W.shape == (2000, 50)
    assert abs(W.std() - np.sqrt(2 / 2000)) < 0.002
    W2 = he_init(10, 3000, np.random.default_rng(5302))
    assert W2.shape == (10, 3000) and abs(W2.std() - np.sqrt(0.2)) < 0.02


def test_5_4():
    rng = np.random.default_rng(5401)
    X = rng.standard_normal((150, 3)) * [1.0, 5.0, 0.2] + [0.0, 20.0, -1.0]
    Xb = np.hstack([X, np.ones((150, 1))])
    H = linear_mse_hessian(X)
    assert np.shape(H) == (4, 4)
    assert np.allclose(H, 2 / 150 * Xb.T @ Xb)
    lr = max_stable_lr(X)
    assert np.isclose(lr, 2 / np.linalg.eigvalsh(2 / 150 * Xb.T @ Xb).max())
    # Gradient descent at just under and just over the bound, on targets it cannot fit exactly.
    y = rng.standard_normal(150)

    def final(rate, steps=4000):
        theta = np.zeros(4)
        for _ in range(steps):
            theta -= rate * 2 / 150 * Xb.T @ (Xb @ theta - y)
        return np.mean((Xb @ theta - y) ** 2)

    assert final(0.97 * lr) < np.mean(y**2) and not final(1.03 * lr) < 1e6


def test_5_5():
    rng = np.random.default_rng(5501)
    w = np.concatenate([rng.uniform(0.5, 2, 5), -rng.uniform(0.5, 2, 6)])
    x = rng.normal(3.0, 4.0, size=1000)
    b = kink_biases(w, x)
    assert np.shape(b) == (11,)
    kinks = -b / w
    assert np.allclose(kinks, np.quantile(x, (np.arange(11) + 0.5) / 11))
    assert np.all(np.diff(kinks) > 0)  # in the order of the units
