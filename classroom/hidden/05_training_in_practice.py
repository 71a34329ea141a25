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
