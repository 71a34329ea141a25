"""Hidden tests for Chapter 8's exercises (run inside the student's notebook by otter).

Each checks the student's function against nnlib (itself tested) or against a simulation,
on settings the public checks do not use.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_8_1():
    for lr, wd in [(0.01, 0.5), (0.3, 0.01), (0.05, 1e-3), (0.9, 1.0), (0.2, 2.5)]:
        params, opt = {"w": np.array([3.0])}, SGD(lr, weight_decay=wd)
        steps = 0
        while params["w"][0] > 1.5:
            opt.step(params, {"w": np.zeros(1)})
            steps += 1
        answer = steps_to_halve(lr, wd)
        assert isinstance(answer, (int, np.integer)) and answer == steps, (lr, wd, steps)


def test_8_2():
    from nnlib.train import EarlyStopping, History

    # The callback replayed on the losses of the chapter's first run (h_plain), which a run
    # with the callback repeats up to its stop.
    for patience in (2, 10):
        stop, history = EarlyStopping(Sequential([Dense(1, 1)]), patience=patience), History()
        stop.on_train_begin(history)
        for epoch, loss in enumerate(h_plain.val_loss):
            history.val_loss.append(loss)
            stop.on_epoch_end(epoch, history)
            if stop.stop_training:
                break
        assert tuple(stop_predictions[patience]) == (stop.best_epoch, stop.stopped_epoch), patience


def test_8_3():
    rng = np.random.default_rng(8301)
    real_pad = np.pad

    def no_pad(*args, **kwargs):
        raise AssertionError("shift_image must use slices, not np.pad")

    np.pad = no_pad  # the exercise asks for slices only
    try:
        outs = {}
        for H, W in [(5, 7), (28, 28), (1, 4)]:
            image = rng.random((H, W)) + 1
            for dy in range(-H - 1, H + 2):
                for dx in (-W - 1, -2, -1, 0, 1, 3, W):
                    outs[H, W, dy, dx] = image, shift_image(image, dy, dx)
    finally:
        np.pad = real_pad
    for (H, W, dy, dx), (image, out) in outs.items():
        expected = np.zeros_like(image)
        for i in range(H):
            for j in range(W):
                if 0 <= i - dy < H and 0 <= j - dx < W:
                    expected[i, j] = image[i - dy, j - dx]
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
