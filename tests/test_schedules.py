"""Learning-rate schedules (issue 7): PyTorch's values, warm-up, and use inside fit."""

import math

import numpy as np
import pytest

from nnlib import optim, schedules

PAIRS = [
    (lambda: schedules.StepLR(3, gamma=0.5), lambda t, o: t.StepLR(o, 3, gamma=0.5)),
    (lambda: schedules.StepLR(1), lambda t, o: t.StepLR(o, 1)),
    (lambda: schedules.ExponentialLR(0.9), lambda t, o: t.ExponentialLR(o, 0.9)),
    (lambda: schedules.CosineAnnealingLR(10), lambda t, o: t.CosineAnnealingLR(o, 10)),
    (
        lambda: schedules.CosineAnnealingLR(7, eta_min=0.01),
        lambda t, o: t.CosineAnnealingLR(o, 7, eta_min=0.01),
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_schedules_equal_pytorch(ours, theirs):
    torch = pytest.importorskip("torch")
    w = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([w], lr=0.3)
    tsched = theirs(torch.optim.lr_scheduler, topt)
    sched, opt = ours(), optim.SGD(lr=0.3)
    for epoch in range(12):
        sched.on_epoch_begin(epoch, opt)
        expected = topt.param_groups[0]["lr"]
        assert opt.lr == pytest.approx(expected, rel=1e-12, abs=1e-15), epoch
        assert sched.lr_at(epoch, 0.3) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        topt.step()
        tsched.step()


def test_warmup_equals_pytorch_linear_lr():
    torch = pytest.importorskip("torch")
    w = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([w], lr=0.2)
    # LinearLR from 1/W to 1 over W - 1 steps: factor (t + 1) / W, then 1.
    tsched = torch.optim.lr_scheduler.LinearLR(topt, start_factor=1 / 5, total_iters=4)
    warm, opt = schedules.LinearWarmup(5), optim.SGD(lr=0.2)
    warm.on_epoch_begin(0, opt)
    for step in range(9):
        warm.on_batch_begin(step, opt)
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12), step
        topt.step()
        tsched.step()


def test_warmup_ramps_then_follows_its_schedule():
    warm = schedules.LinearWarmup(4, after=schedules.StepLR(1, gamma=0.5))
    opt = optim.SGD(lr=1.0)
    warm.on_epoch_begin(0, opt)
    lrs = []
    for step in range(4):
        warm.on_batch_begin(step, opt)
        lrs.append(opt.lr)
    assert lrs == [0.25, 0.5, 0.75, 1.0]  # (step + 1) / 4 of the base rate
    warm.on_epoch_begin(1, opt)
    warm.on_batch_begin(4, opt)
    assert opt.lr == 0.5  # warm-up over; StepLR halves at epoch 1
    assert warm.lr_at(4, 1.0, epoch=1) == 0.5
    assert warm.lr_at(0, 1.0, epoch=3) == 0.125 / 4


def test_base_lr_is_remembered_from_the_first_call():
    sched, opt = schedules.ExponentialLR(0.5), optim.SGD(lr=0.8)
    for epoch in range(3):
        sched.on_epoch_begin(epoch, opt)
    assert sched.base_lr == 0.8
    assert opt.lr == 0.2  # 0.8 * 0.5^2, not 0.8 * 0.5 * 0.5^2


def test_lr_at_is_pure_and_matches_the_closed_forms():
    cos = schedules.CosineAnnealingLR(T_max=4, eta_min=0.1)
    values = [cos.lr_at(e, 1.1) for e in range(5)]
    expected = [0.1 + (1.1 - 0.1) * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert values == pytest.approx(expected, rel=1e-15)
    assert values[0] == pytest.approx(1.1) and values[4] == pytest.approx(0.1)
    assert cos.base_lr is None  # lr_at touched no state
    assert [schedules.StepLR(2, 0.1).lr_at(e, 1.0) for e in range(5)] == pytest.approx(
        [1.0, 1.0, 0.1, 0.1, 0.01]
    )


def test_fit_uses_a_schedule_and_records_its_lr():
    train = pytest.importorskip("nnlib.train")
    from nnlib.layers import Dense
    from nnlib.losses import SoftmaxCrossEntropy
    from nnlib.network import Sequential

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = Sequential([Dense(5, 2, rng=rng)])
    history = train.fit(
        model,
        SoftmaxCrossEntropy(),
        optim.SGD(lr=0.4),
        X,
        y,
        epochs=4,
        batch_size=16,
        callbacks=[schedules.StepLR(2, gamma=0.5)],
        progress=False,
    )
    assert history.lr == pytest.approx([0.4, 0.4, 0.2, 0.2])

    warm = schedules.LinearWarmup(8, after=schedules.CosineAnnealingLR(T_max=4))
    opt = optim.Adam(lr=0.01)
    history = train.fit(
        model,
        SoftmaxCrossEntropy(),
        opt,
        X,
        y,
        epochs=3,
        batch_size=16,
        callbacks=[warm],
        progress=False,
    )
    # The lr recorded at the end of each epoch is the one of its last batch (steps 3, 7, 11).
    assert history.lr == pytest.approx([warm.lr_at(s, 0.01, e) for e, s in enumerate([3, 7, 11])])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: schedules.StepLR(0), r"StepLR: step_size must be an integer >= 1, got 0"),
        (lambda: schedules.StepLR(2, gamma=0), r"StepLR: gamma must be a positive number.*got 0"),
        (lambda: schedules.ExponentialLR(-0.5), r"ExponentialLR: gamma must be a positive number"),
        (lambda: schedules.CosineAnnealingLR(0), r"CosineAnnealingLR: T_max must be an integer"),
        (
            lambda: schedules.CosineAnnealingLR(5, eta_min=-1),
            r"CosineAnnealingLR: eta_min must be a number \(>= 0\), got -1",
        ),
        (lambda: schedules.LinearWarmup(0), r"LinearWarmup: warmup_steps must be an.*got 0"),
    ],
)
def test_bad_schedule_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()
