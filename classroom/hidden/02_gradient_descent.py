"""Hidden tests for Chapter 2's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_2_1():
    rng = np.random.default_rng(2101)
    for shape in [(7, 2), (5, 4), (6,), (3, 1)]:
        a, b = rng.standard_normal(shape), rng.standard_normal(shape)
        g = mae_grad(a, b)
        assert np.shape(g) == shape
        assert (
            rel_error(g, numerical_gradient(lambda v, b=b: np.mean(np.abs(v - b)), a.copy())) < 1e-7
        )
    assert np.allclose(mae_grad(b, b), 0)
    # only the sign of a residual matters: an outlier pulls like any other target
    assert np.allclose(mae_grad(b + 1000 * (a - b), b), mae_grad(a, b))
    # gradient descent on one constant prediction ends within a step of the median
    y = np.array([0.5, 7.0, 2.0, 300.0, 1.0, -4.0, 3.0])
    theta = 0.0
    for _ in range(2000):
        theta -= 0.05 * np.sum(mae_grad(np.full(7, theta), y))
    assert abs(theta - 2.0) < 0.05 / 7 + 1e-9


def test_2_2():
    rng = np.random.default_rng(2102)
    lam = rng.uniform(0.1, 5.0)
    pairs = [(1.0, 10.0), (0.3, 0.5), (2.0, 200.0), (lam, lam * rng.uniform(1.5, 50.0))]
    for lam1, lam2 in pairs:
        eta, rho = best_lr(lam1, lam2)
        assert np.isclose(eta, 2 / (lam1 + lam2)) and np.isclose(rho, (lam2 - lam1) / (lam2 + lam1))
        # gradient descent at eta shrinks both coordinates by exactly rho per step
        theta = np.array([1.0, 1.0])
        for _ in range(30):
            theta = theta - eta * np.array([lam1, lam2]) * theta
        assert np.allclose(np.abs(theta), rho**30)


def test_2_3():
    rng = np.random.default_rng(2103)
    Z = rng.standard_normal((13, 6)) * 4
    Q = rng.integers(0, 4, (13, 6))
    Q[:, 0] += 1  # at least one vote per image, and different numbers of votes
    L, dZ = votes_cross_entropy(Z.copy(), Q)
    assert np.isclose(L, -np.sum(Q * np.log(act.softmax(Z))) / 13)
    assert np.shape(dZ) == (13, 6)
    assert (
        rel_error(dZ, numerical_gradient(lambda v: votes_cross_entropy(v, Q)[0], Z.copy())) < 1e-7
    )
    assert np.allclose(dZ.sum(axis=1), 0)
    # one vote per image: the chapter's (softmax(Z) - onehot(y)) / N
    y = rng.integers(0, 6, 13)
    _, dZ1 = votes_cross_entropy(Z.copy(), np.eye(6, dtype=int)[y])
    assert np.allclose(dZ1, (act.softmax(Z) - np.eye(6)[y]) / 13)
    L_big, dZ_big = votes_cross_entropy(Z * 500, Q)
    assert np.isfinite(L_big) and np.all(np.isfinite(dZ_big))
    # the values themselves, from nnlib's stable log_softmax: a rounded or clipped log P fails
    assert np.isclose(L_big, -np.sum(Q * act.log_softmax(Z * 500)) / 13)
    assert np.allclose(dZ_big, (Q.sum(axis=1, keepdims=True) * act.softmax(Z * 500) - Q) / 13)


def test_2_4():
    rng = np.random.default_rng(2104)
    z, y = rng.standard_normal(11) * 5, rng.integers(0, 2, 11).astype(float)
    L, dz = bce_with_logits(z, y)
    p = 1 / (1 + np.exp(-z))
    assert np.isclose(L, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert np.shape(dz) == (11,)
    assert rel_error(dz, numerical_gradient(lambda v: bce_with_logits(v, y)[0], z.copy())) < 1e-7
    # large logits: right class costs ~0, wrong class costs ~|z|, nothing infinite
    L_big, dz_big = bce_with_logits(np.array([700.0, -700.0, 700.0]), np.array([1.0, 0.0, 0.0]))
    assert np.isclose(L_big, 700.0 / 3) and np.all(np.isfinite(dz_big))
    assert np.allclose(dz_big, [0.0, 0.0, 1 / 3])
