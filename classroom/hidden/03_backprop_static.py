"""Hidden tests for Chapter 3's exercises (run inside the student's notebook by otter).

Backward passes are checked against numerical gradients on shapes the public checks never
use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_3_1():
    rng = np.random.default_rng(3101)
    A, W, b, G = (rng.standard_normal(s) for s in [(2, 9), (7, 2), (7, 1), (7, 9)])
    dA, dW, db = affine_backward_columns(G, A, W)
    f = lambda _: np.sum((W @ A + b) * G)  # noqa: E731
    assert np.shape(dA) == (2, 9) and np.shape(dW) == (7, 2) and np.shape(db) == (7, 1)
    assert rel_error(dA, numerical_gradient(f, A)) < 1e-7
    assert rel_error(dW, numerical_gradient(f, W)) < 1e-7
    assert rel_error(db, numerical_gradient(f, b)) < 1e-7
    # one example (a single column): dW is the outer product of dZ and the input
    a, g = rng.standard_normal((2, 1)), rng.standard_normal((7, 1))
    assert np.allclose(affine_backward_columns(g, a, W)[1], g @ a.T)


def test_3_2():
    rng = np.random.default_rng(3201)
    p = init_params(rng, sizes=(10, 7, 7, 3))
    X, y = rng.standard_normal((6, 10)), rng.integers(0, 3, 6)
    assert wrong_gradients(buggy_backward, p, X, y) == {"W1", "b1"}
    assert wrong_gradients(fixed_backward, p, X, y) == set()

    def no_mean(y, params, cache):  # forgets the 1/N: every gradient N times too large
        return {k: len(y) * g for k, g in backward(y, params, cache).items()}

    assert wrong_gradients(no_mean, p, X, y) == set(p)

    def slightly_off(y, params, cache):  # dW3 wrong by a relative 1e-5: a real, small bug
        grads = backward(y, params, cache)
        grads["W3"] = grads["W3"] * (1 + 1e-5)
        return grads

    assert wrong_gradients(slightly_off, p, X, y) == {"W3"}, "the threshold is too loose"
    q = init_params(rng, sizes=(10, 9, 4, 3))  # unequal widths: the fix must be general
    _, cache = forward(X, q)
    fixed, right = fixed_backward(y, q, cache), backward(y, q, cache)
    assert all(np.allclose(fixed[k], right[k]) for k in q)


def test_3_3():
    rng = np.random.default_rng(3301)
    X, Y = rng.standard_normal((11, 4)), rng.standard_normal((11, 3))
    p = {"W1": rng.standard_normal((4, 8)), "b1": rng.standard_normal(8) * 0.1,
         "W2": rng.standard_normal((8, 3)), "b2": rng.standard_normal(3) * 0.1}  # fmt: skip
    loss, g = tanh_mse_loss_and_grads(X, Y, p)
    assert set(g) == set(p)
    for k in p:
        assert np.shape(g[k]) == np.shape(p[k])
        num = numerical_gradient(lambda _: tanh_mse_loss_and_grads(X, Y, p)[0], p[k])
        assert rel_error(g[k], num) < 1e-7, k


def test_3_4():
    rng = np.random.default_rng(3401)
    X, y = rng.uniform(0, 1, (25, 784)), rng.integers(0, 10, 25)
    assert zero_init_changes(X, y, steps=1, lr=0.1) == {"b3"}
    assert zero_init_changes(X, y, steps=6, lr=1.0) == {"b3"}
    assert zero_init_changes(X, y, steps=0, lr=0.1) == set(), "with no step nothing changes"
