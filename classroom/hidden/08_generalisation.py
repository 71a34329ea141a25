"""Hidden tests for Chapter 8's exercises (run inside the student's notebook by otter).

Each checks the student's function against nnlib (itself tested) or against a simulation,
on settings the public checks do not use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_8_1():
    def measured(lr, wd, mu, steps):
        """(xi, zeta) read off a run of SGD on a weight that only weight decay moves."""
        params, opt = {"w": np.array([2.0])}, SGD(lr, momentum=mu, weight_decay=wd)
        for _ in range(steps):
            previous = params["w"][0]
            opt.step(params, {"w": np.zeros(1)})
        e, r = lr * wd, params["w"][0] / previous
        return (1 - e / (1 - mu) - r) / e**2, (params["w"][0] / 2.0 / r**steps - 1) / e

    # Momenta the public check does not use, each with an e = lr wd small enough that the
    # terms left out are below 0.5 % of xi and zeta: mu e / (1 - mu)^2 is at most 0.1 %.
    for lr, wd, mu, steps in [
        (0.01, 1e-5, 0.99, 5000),
        (0.1, 1e-5, 0.95, 3000),
        (0.2, 1e-4, 0.8, 2000),
        (1.0, 1e-5, 0.6, 1000),
        (0.3, 1e-4, 0.3, 1000),
        (0.5, 1e-3, 0.0, 100),
    ]:
        xi, zeta = (float(x) for x in decay_corrections(mu))
        xi_run, zeta_run = measured(lr, wd, mu, steps)
        assert abs(xi - xi_run) <= 0.01 * abs(xi_run) + 1e-3, (mu, xi, xi_run)
        assert abs(zeta - zeta_run) <= 0.01 * abs(zeta_run) + 1e-3, (mu, zeta, zeta_run)


def test_8_2():
    from nnlib.train import EarlyStopping, History

    def replay(losses, patience):
        """The callback itself, replayed on a list of validation losses."""
        stop, history = EarlyStopping(Sequential([Dense(1, 1)]), patience=patience), History()
        stop.on_train_begin(history)
        for epoch, loss in enumerate(losses):
            history.val_loss.append(loss)
            stop.on_epoch_end(epoch, history)
            if stop.stop_training:
                break
        return stop.best_epoch, stop.stopped_epoch

    # The losses of the chapter's first run (h_plain), which a run with the callback
    # repeats up to its stop, for every patience from 1 to 15.
    for patience in range(1, 16):
        expected = replay(h_plain.val_loss, patience)
        assert tuple(predict_stop(list(h_plain.val_loss), patience)) == expected, patience
    # Runs the student has not seen: noisy curves with later minima, and ties.
    rng = np.random.default_rng(8201)
    for trial in range(40):
        losses = np.round(1 + np.cumsum(rng.normal(-0.02, 0.1, size=30)), 1)  # ties on purpose
        for patience in (1, 2, 4, 7):
            answer = predict_stop(list(losses), patience)
            assert tuple(answer) == replay(list(losses), patience), (trial, patience)
    assert tuple(predict_stop([5.0, 4.0, 3.0, 2.0], 1)) == (3, None)
    assert tuple(predict_stop([1.0, 1.0, 1.0, 1.0, 0.5], 3)) == (0, 3)  # ties count as waiting


def test_8_3():
    rng = np.random.default_rng(8301)
    real_pad = np.pad

    def no_pad(*args, **kwargs):
        raise AssertionError("shift_image must use slices, not np.pad")

    np.pad = no_pad  # the exercise asks for slices only
    try:
        outs = {}
        for H, W in [(5, 7), (28, 28), (1, 4), (6, 2)]:
            image = rng.random((H, W)) + 1
            before = image.copy()
            # every shift from beyond the top (left) edge to beyond the bottom (right) one,
            # and shifts many times the size of the image, in both directions
            shifts_y = [*range(-H - 2, H + 3), -3 * H - 5, 2 * H + 7, 100, -100]
            shifts_x = [*range(-W - 2, W + 3), -4 * W, 3 * W + 1, 99, -101]
            for dy in shifts_y:
                for dx in shifts_x:
                    outs[H, W, dy, dx] = image, shift_image(image, dy, dx)
            assert np.array_equal(image, before), "shift_image changed its input"
    finally:
        np.pad = real_pad
    for (H, W, dy, dx), (image, out) in outs.items():
        i, j = np.arange(H)[:, None] - dy, np.arange(W)[None, :] - dx  # out[., .] = image[i, j]
        inside = (0 <= i) & (i < H) & (0 <= j) & (j < W)
        expected = np.where(inside, image[i.clip(0, H - 1), j.clip(0, W - 1)], 0.0)
        assert out.shape == image.shape and np.array_equal(out, expected), (H, W, dy, dx)


def test_8_4():
    rng = np.random.default_rng(8401)
    value = winner_optimism(0.9, 10, 500, 40_000, rng)
    reference = rng.binomial(500, 0.9, size=(40_000, 10)).max(axis=1).mean() / 500 - 0.9
    assert abs(value - reference) < 0.001
    # Optimism grows with the number of networks and shrinks with the size of the set.
    more = winner_optimism(0.9, 40, 500, 20_000, rng)
    larger = winner_optimism(0.9, 10, 5000, 20_000, rng)
    assert more > value + 0.003 and larger < value / 2
    assert abs(winner_optimism(0.7, 1, 100, 40_000, rng)) < 0.002
