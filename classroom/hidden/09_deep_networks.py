"""Hidden tests for Chapter 9's exercises (run inside the student's notebook by otter).

The batch-normalisation answers are compared with nnlib's BatchNorm1d (itself tested
against PyTorch) and with central differences of an unbiased-variance forward pass; the
initialisation answers with a measurement through a deep network and with the closed form.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_9_1():
    rng = np.random.default_rng(9101)
    for eps in (1e-5, 1e-2, 0.5):
        # differences from far below sqrt(eps) to far above it, both signs
        pair = rng.standard_normal((2, 6)) * np.array([1e-4, 1e-2, 0.1, 1, 10, 100]) - 2
        ref = BatchNorm1d(6, eps=eps, dtype=np.float64)
        _ = ref.forward(pair, training=True)  # (a bare expression would print in the doctest)
        x_hat_1, x_hat_2 = two_example_x_hat(pair[0], pair[1], eps)
        assert rel_error(np.stack([x_hat_1, x_hat_2]), ref._x_hat) < 1e-10, eps


def test_9_2():
    from nnlib.gradcheck import numerical_gradient

    rng = np.random.default_rng(9201)
    for N, D, eps in [(2, 3, 0.5), (3, 2, 0.1), (10, 5, 1e-3)]:
        x = rng.standard_normal((N, D)) * 2 + 1
        gamma, beta = rng.uniform(0.5, 2, D), rng.standard_normal(D)
        dout = rng.standard_normal((N, D))

        def forward(x, eps=eps):
            inv_std = 1 / np.sqrt(x.var(axis=0, ddof=1) + eps)
            return (x - x.mean(axis=0)) * inv_std, inv_std

        x_hat, inv_std = forward(x)
        dx, dgamma, dbeta = batchnorm_backward_unbiased(dout, x_hat, inv_std, gamma)

        def loss(_, x=x, dout=dout, gamma=gamma, beta=beta, forward=forward):
            return float(np.sum((gamma * forward(x)[0] + beta) * dout))

        assert rel_error(dx, numerical_gradient(loss, x)) < 1e-7, (N, D, eps)
        assert rel_error(dgamma, (dout * x_hat).sum(axis=0)) < 1e-12
        assert rel_error(dbeta, dout.sum(axis=0)) < 1e-12


def test_9_3():
    for alpha, depth, factor in [(0.0, 10, 2.0), (0.5, 5, 1000.0), (0.2, 30, 1e6), (1.0, 7, 50.0)]:
        c = leaky_gain_for_fall(alpha, depth, factor)
        per_layer = c**2 * (1 + alpha**2) / 2
        assert np.isclose(per_layer**depth, 1 / factor, rtol=1e-9), (alpha, depth, factor)
    # Exact values: a factor of 1 keeps Exercise 5.3's gain; alpha = 1 is the identity.
    assert np.isclose(leaky_gain_for_fall(0.5, 3, 1.0), np.sqrt(2 / 1.25))
    assert np.isclose(leaky_gain_for_fall(1.0, 2, 1e4), 0.1)
    assert np.isclose(leaky_gain_for_fall(0.1, 20, 100.0), np.sqrt(2 / 1.01) * 100 ** (-1 / 40))
    # Measured: 20 leaky-ReLU layers of width 400 with that gain divide the variance by 1000.
    from nnlib.activations import leaky_relu

    rng = np.random.default_rng(9301)
    c = leaky_gain_for_fall(0.3, 20, 1000.0)
    z = rng.standard_normal((1000, 400))
    for _ in range(20):
        z = leaky_relu(z, 0.3) @ (rng.standard_normal((400, 400)) * c / np.sqrt(400))
    assert 300 < 1 / z.var() < 3000


def test_9_4():
    # Fractional quotients (2.5: 1.32 layers; 100 at c = 1.2: 14.02) must be rounded up.
    cases = [
        (1.0, 2.0),
        (1.0, 2.5),
        (1.0, 1000.0),
        (1.2, 50.0),
        (1.2, 100.0),
        (1.5, 10.0),
        (1.9, 1e6),
    ]
    for gain, factor in cases:
        per_layer = gain**2 / 2
        L = layers_until(gain, factor)
        if per_layer < 1:
            assert per_layer**L <= 1 / factor * (1 + 1e-9) and per_layer ** (L - 1) > 1 / factor
        else:
            assert per_layer**L >= factor * (1 - 1e-9) and per_layer ** (L - 1) < factor
    assert layers_until(1.0, 2.5) == 2 and layers_until(1.2, 100.0) == 15
    assert layers_until(2**0.5, 10.0) is None
    # Close to He's gain is not He's gain: a very deep network, not None.
    L = layers_until(1.41421, 10.0)
    assert L is not None and L > 100_000
    assert (1.41421**2 / 2) ** L <= 0.1 * (1 + 1e-9) and (1.41421**2 / 2) ** (L - 1) > 0.1
