"""Ctrl-C never leaves a half-changed model (issue 23, item 11).

A real SIGINT (``os.kill(os.getpid(), SIGINT)``) is sent from inside an optimizer step, in
the engine's blocked kernel and in the readable per-key loop: the step must finish whole
(every parameter updated, every step count equal) before the KeyboardInterrupt arrives,
and ``fit`` must stop cleanly and return the history of the epochs it finished.
"""

import os
import signal
import threading

import numpy as np
import pytest

import nnlib
from nnlib import optim, train
from nnlib._atomic import uninterrupted
from nnlib._engine import optim as eoptim
from nnlib.layers import Dense, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.train import fit


def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_inside_the_block_arrives_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with uninterrupted():
            ctrl_c()
            done.append("rest of the block")
    assert done == ["rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_interrupt_goes_to_the_handler_that_was_there_before():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with uninterrupted():
            ctrl_c()
            assert calls == []
        assert calls == [signal.SIGINT]
        with uninterrupted():
            pass
        assert calls == [signal.SIGINT]  # nothing arrived: nothing delivered
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_it_changes_nothing():
    seen = []

    def work():
        with uninterrupted():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def big_model(seed=0):
    # 300 * 300 + 300 = 90,300 parameters: two of the kernel's blocks of 65,536.
    return Sequential([Dense(300, 300, rng=seed)])


def gradients(model, seed=1):
    """model.grads, filled with random numbers (in place: the flat buffer stays intact)."""
    rng = np.random.default_rng(seed)
    grads = model.grads
    for g in grads.values():
        g[...] = rng.standard_normal(g.shape)
    return grads


def test_ctrl_c_inside_the_engines_blocked_kernel_finishes_the_step(monkeypatch):
    assert big_model().params.flat.size > eoptim.BLOCK
    assert big_model().grads.flat is not None  # the engine's kernel runs
    expected, opt_expected = big_model(), optim.Adam(lr=0.1)
    opt_expected.step(expected.params, gradients(expected))

    blocks = eoptim._blocks

    def interrupted_after_the_first_block(*arrays):
        for i, block in enumerate(blocks(*arrays)):
            yield block
            if i == 0:
                ctrl_c()  # the first block is updated, the second not yet

    monkeypatch.setattr(eoptim, "_blocks", interrupted_after_the_first_block)
    model, opt = big_model(), optim.Adam(lr=0.1)
    with pytest.raises(KeyboardInterrupt):
        opt.step(model.params, gradients(model))
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, expected.params[key])
        assert opt.state[key]["step"] == 1
        for name in ("m", "v"):
            np.testing.assert_array_equal(opt.state[key][name], opt_expected.state[key][name])


@pytest.mark.parametrize("engine", [True, False])
def test_ctrl_c_inside_the_per_key_loop_finishes_the_step(engine):
    class InterruptedAdam(optim.Adam):
        """Adam whose first parameter update is followed by Ctrl-C."""

        def update(self, p, g, state):
            super().update(p, g, state)
            if not getattr(self, "sent", False):
                self.sent = True
                ctrl_c()

    previous = nnlib.set_engine(engine)
    try:

        def make():
            return Sequential([Dense(4, 5, rng=0), ReLU(), Dense(5, 3, rng=1)])

        expected, model = make(), make()
        optim.Adam(lr=0.1).step(expected.params, gradients(expected))
        opt = InterruptedAdam(lr=0.1)
        with pytest.raises(KeyboardInterrupt):
            opt.step(model.params, gradients(model))
    finally:
        nnlib.set_engine(previous)
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, expected.params[key])
        assert opt.state[key]["step"] == 1


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def classifier():
    return Sequential([Dense(6, 300, rng=0), ReLU(), Dense(300, 3, rng=1)])


def test_fit_stops_cleanly_on_ctrl_c_mid_step_and_returns_the_history(monkeypatch, capsys):
    X, y = data()  # 4 batches of 16 per epoch
    kw = dict(batch_size=16, shuffle=False, progress=False)
    # The reference: 6 whole steps, the first epoch and two batches of the second.
    expected, opt_expected = classifier(), optim.Adam(lr=0.01)
    fit(expected, SoftmaxCrossEntropy(), opt_expected, X, y, epochs=1, **kw)
    fit(expected, SoftmaxCrossEntropy(), opt_expected, X[:32], y[:32], epochs=1, **kw)

    blocks, calls = eoptim._blocks, []

    def ctrl_c_during_step_6(*arrays):
        calls.append(1)
        for block in blocks(*arrays):
            yield block
            if len(calls) == 6:
                ctrl_c()

    monkeypatch.setattr(eoptim, "_blocks", ctrl_c_during_step_6)
    model, opt = classifier(), optim.Adam(lr=0.01)
    history = fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=3, **kw)
    assert history.interrupted
    assert len(history.loss) == len(history.accuracy) == len(history.time) == 1
    assert "fit: stopped by Ctrl-C in epoch 2" in capsys.readouterr().out
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, expected.params[key])
        assert opt.state[key]["step"] == 6


def test_an_epoch_cut_short_leaves_no_partial_records(monkeypatch):
    X, y = data()
    calls = []
    evaluate = train.evaluate

    def ctrl_c_in_the_second_validation(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            ctrl_c()
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", ctrl_c_in_the_second_validation)
    ended = []

    class End:
        def on_train_end(self, history):
            ended.append(history)

    history = fit(classifier(), SoftmaxCrossEntropy(), optim.SGD(lr=0.1), X, y, epochs=3,
                  batch_size=16, validation_data=(X, y), progress=False,
                  callbacks=[End()])  # fmt: skip
    assert history.interrupted and ended == [history]
    lengths = {name: len(getattr(history, name)) for name in
               ("loss", "accuracy", "val_loss", "val_accuracy", "time", "lr")}  # fmt: skip
    assert set(lengths.values()) == {1}, lengths
