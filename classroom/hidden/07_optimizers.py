"""Hidden tests for Chapter 7's exercises (run inside the student's notebook by otter).

Each compares the student's step with nnlib's optimizer (itself tested against PyTorch) on
shapes, hyper-parameters and step counts the public checks do not use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_7_1():
    rng = np.random.default_rng(7101)
    theta = rng.standard_normal((2, 3, 2))
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    params, opt = {"p": theta.copy()}, optim.Adam(0.003, betas=(0.5, 0.9), eps=1e-6)
    for t in range(1, 26):
        g = rng.standard_normal(theta.shape) * 10 ** rng.uniform(-3, 1)
        old = (theta, m, v)
        kept = tuple(a.copy() for a in old)
        theta, m, v = adam_step(theta, g, m, v, t, 0.003, beta1=0.5, beta2=0.9, eps=1e-6)
        assert all(np.array_equal(a, b) for a, b in zip(old, kept)), "inputs were modified"
        opt.step(params, {"p": g})
    assert rel_error(theta, params["p"]) < 1e-10


def test_7_2():
    rng = np.random.default_rng(7201)
    theta, buf = rng.standard_normal((4, 3)), np.zeros((4, 3))
    params, opt = {"p": theta.copy()}, optim.SGD(0.02, momentum=0.95, nesterov=True)
    for t in range(30):
        g = rng.standard_normal((4, 3))
        theta, buf = nesterov_step(theta, g, buf, 0.02, 0.95, first=t == 0)
        opt.step(params, {"p": g})
    assert rel_error(theta, params["p"]) < 1e-10
    assert rel_error(buf, opt.state["p"]["v"]) < 1e-10


def test_7_3():
    ref = CosineAnnealingLR(13, eta_min=0.002)
    for e in range(14):
        assert np.isclose(cosine_lr(e, 0.7, 13, 0.002), ref.lr_at(e, 0.7), rtol=1e-12)
    assert np.isclose(cosine_lr(13 / 2, 1.0, 13), 0.5)  # halfway: half the rate


def test_7_4():
    rng = np.random.default_rng(7401)
    theta, u = rng.standard_normal(6), np.zeros(6)
    params, opt = {"p": theta.copy()}, optim.SGD(0.03, momentum=0.8)
    for _ in range(20):
        g = rng.standard_normal(6)
        theta, u = classic_step(theta, g, u, 0.03, 0.8)
        opt.step(params, {"p": g})
    assert rel_error(theta, params["p"]) < 1e-10
    # One step from rest is plain gradient descent.
    t1, u1 = classic_step(np.zeros(2), np.array([1.0, -2.0]), np.zeros(2), 0.5, 0.9)
    assert np.allclose(t1, [-0.5, 1.0]) and np.allclose(u1, [-0.5, 1.0])


def test_7_5():
    for lam, mu in [(4.0, 0.0), (0.5, 0.95), (10.0, 0.3)]:
        lr_max = momentum_max_lr(lam, mu)
        assert np.isclose(lr_max, 2 * (1 + mu) / lam)
        for scale, converges in [(0.99, True), (1.01, False)]:
            params, opt = {"w": np.ones(1)}, optim.SGD(scale * lr_max, momentum=mu)
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(5000):
                    opt.step(params, {"w": lam * params["w"]})
            assert (abs(params["w"][0]) < 1e-3) == converges, (lam, mu, scale)


def test_7_6():
    for alpha, g, lr, eps in [(0.99, 3.0, 0.01, 1e-8), (0.5, -0.2, 1.0, 1e-3)]:
        params, opt = {"w": np.zeros(1)}, optim.RMSprop(lr, alpha=alpha, eps=eps)
        for t in range(1, 41):
            before = params["w"][0]
            opt.step(params, {"w": np.array([g])})
            length = abs(params["w"][0] - before)
            assert np.isclose(rmsprop_step_length(t, lr, alpha, g, eps), length, rtol=1e-9), t
