"""Hidden tests for Chapter 3's exercises (run inside the student's notebook by otter).

Backward passes are checked against numerical gradients on shapes the public checks never
use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_3_1():
    rng = np.random.default_rng(3101)
    A, W, b, G = (rng.standard_normal(s) for s in [(9, 2), (2, 7), (7,), (9, 7)])
    dA, dW, db = affine_backward(G, A, W)
    f = lambda _: np.sum((A @ W + b) * G)  # noqa: E731
    assert np.shape(dA) == (9, 2) and np.shape(dW) == (2, 7) and np.shape(db) == (7,)
    assert rel_error(dA, numerical_gradient(f, A)) < 1e-7
    assert rel_error(dW, numerical_gradient(f, W)) < 1e-7
    assert rel_error(db, numerical_gradient(f, b)) < 1e-7


def test_3_2():
    rng = np.random.default_rng(3201)
    Z, G = rng.standard_normal((3, 11)) * 4, rng.standard_normal((3, 11))
    f = lambda _: np.sum(1 / (1 + np.exp(-Z)) * G)  # noqa: E731
    assert rel_error(sigmoid_backward(G, Z), numerical_gradient(f, Z)) < 1e-7


def test_3_3():
    rng = np.random.default_rng(3301)
    X, y = rng.standard_normal((11, 4)), rng.integers(0, 5, 11)
    p = {"W1": rng.standard_normal((4, 8)), "b1": rng.standard_normal(8) * 0.1,
         "W2": rng.standard_normal((8, 5)), "b2": rng.standard_normal(5) * 0.1}  # fmt: skip
    loss, g = one_hidden_loss_and_grads(X, y, p)
    assert set(g) == set(p)
    for k in p:
        assert np.shape(g[k]) == np.shape(p[k])
        num = numerical_gradient(lambda _: one_hidden_loss_and_grads(X, y, p)[0], p[k])
        assert rel_error(g[k], num) < 1e-6, k
