"""Optimizers and schedules (issue 7): convergence, hand-computed steps, PyTorch equality."""

import numpy as np
import pytest

from nnlib import optim, schedules

ALL = [
    lambda: optim.SGD(lr=0.05),
    lambda: optim.SGD(lr=0.05, momentum=0.9),
    lambda: optim.SGD(lr=0.05, momentum=0.9, nesterov=True),
    lambda: optim.AdaGrad(lr=0.5),
    lambda: optim.RMSProp(lr=0.01),
    lambda: optim.Adam(lr=0.05),
    lambda: optim.AdamW(lr=0.05, weight_decay=1e-4),
]


@pytest.mark.parametrize("make", ALL)
def test_each_optimizer_converges_on_an_ill_conditioned_quadratic(make):
    A = np.diag([1.0, 10.0])  # f(x) = x^T A x / 2, minimum at 0
    x = {"x": np.array([3.0, -2.0])}
    opt = make()
    for _ in range(2000):
        opt.step(x, {"x": A @ x["x"]})
    assert np.linalg.norm(x["x"]) < 1e-2, f"{type(opt).__name__} ended at {x['x']}"


def test_first_steps_by_hand_momentum_and_nesterov():
    g1, g2 = np.array([1.0]), np.array([2.0])
    p = {"w": np.array([0.0])}
    opt = optim.SGD(lr=0.1, momentum=0.9)
    opt.step(p, {"w": g1})  # v = 1,             p = -0.1
    opt.step(p, {"w": g2})  # v = 0.9 * 1 + 2 = 2.9, p = -0.1 - 0.29 = -0.39
    assert p["w"][0] == pytest.approx(-0.39)
    p = {"w": np.array([0.0])}
    opt = optim.SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.step(p, {"w": g1})  # v = 1, d = 1 + 0.9 * 1 = 1.9,   p = -0.19
    opt.step(p, {"w": g2})  # v = 2.9, d = 2 + 0.9 * 2.9 = 4.61, p = -0.19 - 0.461 = -0.651
    assert p["w"][0] == pytest.approx(-0.651)


def test_first_step_by_hand_adam():
    p = {"w": np.array([1.0])}
    opt = optim.Adam(lr=0.1)
    opt.step(p, {"w": np.array([0.5])})
    # m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25; step = 0.1 * 0.5 / (0.5 + 1e-8)
    assert p["w"][0] == pytest.approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-12)


def test_state_is_per_parameter_and_independent_of_dict_order():
    rng = np.random.default_rng(0)
    init = {"a": rng.standard_normal(3), "b": rng.standard_normal((2, 2))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in init.items()} for _ in range(5)]
    results = []
    for keys in (["a", "b"], ["b", "a"]):
        p = {k: init[k].copy() for k in keys}
        opt = optim.Adam(lr=0.1)
        for g in grads:
            opt.step(p, {k: g[k] for k in reversed(keys)})
        results.append(p)
        assert set(opt.state) == {"a", "b"}
    for k in init:
        np.testing.assert_array_equal(results[0][k], results[1][k])


TORCH_CASES = [
    ("SGD", {"lr": 0.1}, {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, {}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}, {}),
    ("AdaGrad", {"lr": 0.1}, {"name": "Adagrad"}),
    ("RMSProp", {"lr": 0.01}, {"name": "RMSprop"}),
    ("Adam", {"lr": 0.01}, {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, {}),
]


@pytest.mark.parametrize(("name", "kwargs", "extra"), TORCH_CASES)
def test_trajectories_equal_pytorch(name, kwargs, extra):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(20)]
    ours = {"w": p0.copy()}
    opt = getattr(optim, name)(**kwargs)
    theirs = torch.tensor(p0.copy(), requires_grad=True)
    topt = getattr(torch.optim, extra.get("name", name))([theirs], **kwargs)
    for g in grads:
        opt.step(ours, {"w": g})
        theirs.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours["w"], theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: schedules.StepLR(3, gamma=0.5), lambda t, o: t.StepLR(o, 3, gamma=0.5)),
        (lambda: schedules.ExponentialLR(0.9), lambda t, o: t.ExponentialLR(o, 0.9)),
        (
            lambda: schedules.CosineAnnealingLR(10, eta_min=0.01),
            lambda t, o: t.CosineAnnealingLR(o, 10, eta_min=0.01),
        ),
    ],
)
def test_schedules_equal_pytorch(ours, theirs):
    torch = pytest.importorskip("torch")
    w = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([w], lr=0.3)
    tsched = theirs(torch.optim.lr_scheduler, topt)
    sched, opt = ours(), optim.SGD(lr=0.3)
    for epoch in range(10):
        sched.on_epoch_begin(epoch, opt)
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12), epoch
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
    assert lrs == [0.25, 0.5, 0.75, 1.0]
    warm.on_epoch_begin(1, opt)
    warm.on_batch_begin(4, opt)
    assert opt.lr == 0.5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: optim.SGD(lr=-0.1), r"SGD: lr must be > 0, got -0.1"),
        (lambda: optim.SGD(lr=0.1, nesterov=True), r"nesterov=True needs momentum > 0"),
        (lambda: optim.SGD(lr=0.1, momentum=-1), r"momentum must be >= 0"),
        (lambda: optim.Adam(lr=0.1, betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
        (lambda: optim.Adam(lr=0.1, betas=(-0.1, 0.9)), r"betas must be"),
        (lambda: optim.Adam(lr=0.1, eps=0), r"Adam: eps must be > 0, got 0"),
        (lambda: optim.AdamW(lr=0.1, weight_decay=-1), r"weight_decay must be >= 0"),
        (lambda: optim.RMSProp(lr=0.1, alpha=1.0), r"alpha must be in \[0, 1\)"),
        (lambda: optim.AdaGrad(lr=0.1, eps=-1), r"AdaGrad: eps must be > 0"),
    ],
)
def test_bad_hyper_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_step_names_a_missing_or_misshapen_gradient():
    opt = optim.SGD(lr=0.1)
    with pytest.raises(ValueError, match=r"no gradient for parameter 'b'"):
        opt.step({"a": np.zeros(2), "b": np.zeros(2)}, {"a": np.zeros(2)})
    with pytest.raises(ValueError, match=r"gradient 'a' has shape \(3,\).*shape \(2,\)"):
        opt.step({"a": np.zeros(2)}, {"a": np.zeros(3)})
