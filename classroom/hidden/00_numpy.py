"""Hidden tests for Chapter 0's exercises: shapes and values the public checks never use.

Each test_N_k runs inside the student's notebook (names such as np and the student's
functions are the notebook's own); otter-grader hides it from students.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_0_1():
    rng = np.random.default_rng(1001)
    X, w = rng.standard_normal((17, 9)), rng.standard_normal(9)
    out = batched_dot(X, w)
    assert np.shape(out) == (17,)
    assert np.allclose(out, np.einsum("nd,d->n", X, w))


def test_0_2():
    rng = np.random.default_rng(1002)
    A, B = rng.standard_normal((7, 5)), rng.standard_normal((3, 5))
    out = pairwise_sq_dists(A, B)
    assert np.shape(out) == (7, 3)
    assert np.allclose(out, ((A[:, None] - B[None]) ** 2).sum(-1))
    assert np.allclose(np.diag(pairwise_sq_dists(A, A)), 0)


def test_0_3():
    rng = np.random.default_rng(1003)
    X = rng.uniform(-100, 100, (31, 6)) * rng.uniform(0.01, 50, 6)
    Z = standardise(X)
    assert np.shape(Z) == (31, 6)
    assert np.allclose(Z.mean(axis=0), 0) and np.allclose(Z.std(axis=0), 1)
    assert np.allclose(Z * X.std(axis=0) + X.mean(axis=0), X)
