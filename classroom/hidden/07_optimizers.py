"""Hidden tests for Chapter 7's exercises (run inside the student's notebook by otter).

Each checks the student's answer against a direct simulation (nnlib's optimizers are
themselves tested against PyTorch) on hyper-parameters the public checks do not use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_7_1():
    for beta1, beta2, g in [(0.5, 0.9, 2.0), (0.8, 0.99, -0.01), (0.9, 0.999, 7.0)]:
        m = s = 0.0
        for t in range(1, 61):
            m, s = beta1 * m + (1 - beta1) * g, beta2 * s + (1 - beta2) * g**2
            assert np.isclose(
                uncorrected_adam_step(t, beta1, beta2), abs(m) / np.sqrt(s), rtol=1e-9
            ), (beta1, beta2, t)


def test_7_2():
    for kappa, fraction in [(3.0, 1e-6), (40.0, 1e-3), (400.0, 1e-12)]:
        f = quadratic(kappa)
        params, opt = {"theta": np.ones(2)}, optim.SGD(lr=2 / (1 + kappa))
        f0, t = f(params["theta"])[0], 0
        while True:
            t += 1
            opt.step(params, {"theta": f(params["theta"])[1]})
            if f(params["theta"])[0] < fraction * f0:
                break
        assert sgd_steps_predicted(kappa, fraction) == t, (kappa, fraction, t)


def test_7_3():
    for base_lr, T in [(1.0, 3), (0.05, 20), (2.5, 7)]:
        ref = CosineAnnealingLR(T)
        total = sum(ref.lr_at(e, base_lr) for e in range(T))
        assert np.isclose(cosine_rate_sum(base_lr, T), total, rtol=1e-12), (base_lr, T)


def test_7_4():
    rng = np.random.default_rng(7401)
    lrs = rng.choice([0.3, 0.03, 0.1], size=25)
    theta, u = rng.standard_normal(6), np.zeros(6)
    params, opt = {"p": theta.copy()}, optim.SGD(lrs[0], momentum=0.8)
    for k, lr in enumerate(lrs):
        g = rng.standard_normal(6)
        theta, u = classic_step_matching(theta, g, u, lr, lrs[max(k - 1, 0)], 0.8)
        opt.lr = lr
        opt.step(params, {"p": g})
        assert rel_error(theta, params["p"]) < 1e-10, k
    # A constant rate is the plain classic form.
    t1, u1 = classic_step_matching(np.zeros(2), np.array([1.0, -2.0]), np.ones(2), 0.5, 0.5, 0.9)
    assert np.allclose(u1, [0.4, 1.9]) and np.allclose(t1, u1)


def test_7_5():
    for lam, mu in [(4.0, 0.1), (0.5, 0.95), (10.0, 0.3)]:
        lr_max = nesterov_max_lr(lam, mu)
        for scale, converges in [(0.99, True), (1.01, False)]:
            params = {"w": np.ones(1)}
            opt = optim.SGD(scale * lr_max, momentum=mu, nesterov=True)
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(6000):
                    opt.step(params, {"w": lam * params["w"]})
            assert (abs(params["w"][0]) < 1e-3) == converges, (lam, mu, scale)


def test_7_6():
    for alpha, tol in [(0.9, 0.05), (0.999, 0.001), (0.5, 0.2), (0.99, 0.01)]:
        t = rmsprop_settle_steps(alpha, tol)
        length = 1 / np.sqrt(1 - alpha ** np.arange(1, t + 1))  # steps 1..t, in units of lr
        assert length[-1] <= 1 + tol and (t == 1 or length[-2] > 1 + tol), (alpha, tol, t)
    # Against RMSprop itself (a tiny eps), in units of lr.
    params, opt = {"w": np.zeros(1)}, optim.RMSprop(0.1, alpha=0.95, eps=1e-12)
    lengths = []
    for _ in range(200):
        before = params["w"][0]
        opt.step(params, {"w": np.array([-1.3])})
        lengths.append(abs(params["w"][0] - before) / 0.1)
    t = rmsprop_settle_steps(0.95, 0.02)
    assert lengths[t - 1] <= 1.02 and lengths[t - 2] > 1.02, t
