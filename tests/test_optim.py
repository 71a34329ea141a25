"""Optimizers (issue 7): convergence, hand-computed steps, state, PyTorch equality, errors."""

import numpy as np
import pytest

from nnlib import optim

ALL = [
    lambda: optim.SGD(lr=0.03),
    lambda: optim.SGD(lr=0.03, momentum=0.9),
    lambda: optim.SGD(lr=0.03, momentum=0.9, nesterov=True),
    lambda: optim.SGD(lr=0.03, momentum=0.5, weight_decay=1e-4),
    lambda: optim.Adagrad(lr=0.5),
    lambda: optim.RMSprop(lr=0.01),
    lambda: optim.Adam(lr=0.05),
    lambda: optim.AdamW(lr=0.05, weight_decay=1e-4),
]
IDS = [repr(make()) for make in ALL]


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_each_optimizer_converges_on_an_ill_conditioned_quadratic(make):
    # f(x) = x^T A x / 2 with condition number 30 and a rotated ravine; minimum at 0.
    R = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    A = R @ np.diag([1.0, 30.0]) @ R.T
    x = {"x": np.array([3.0, -2.0])}
    opt = make()
    f0 = 0.5 * x["x"] @ A @ x["x"]
    for _ in range(3000):
        opt.step(x, {"x": A @ x["x"]})
    f = 0.5 * x["x"] @ A @ x["x"]
    # RMSProp and Adam (constant lr) hover in a ball of radius ~lr around the minimum.
    assert np.linalg.norm(x["x"]) < 2e-2, f"{opt} ended at {x['x']}"
    assert f < 1e-3 * f0


def test_plain_sgd_keeps_its_chapter_2_meaning():
    p = {"w": np.array([1.0, -2.0])}
    optim.SGD(0.1).step(p, {"w": np.array([0.5, 0.5])})  # p - lr g = [1 - 0.05, -2 - 0.05]
    np.testing.assert_array_equal(p["w"], [0.95, -2.05])


def test_first_steps_by_hand_momentum_and_nesterov():
    g1, g2 = np.array([1.0]), np.array([2.0])
    p = {"w": np.array([0.0])}
    opt = optim.SGD(lr=0.1, momentum=0.9)
    opt.step(p, {"w": g1})  # v = g1 = 1,                 p = 0 - 0.1 * 1 = -0.1
    assert p["w"][0] == pytest.approx(-0.1, rel=1e-14)
    opt.step(p, {"w": g2})  # v = 0.9 * 1 + 2 = 2.9,      p = -0.1 - 0.1 * 2.9 = -0.39
    assert p["w"][0] == pytest.approx(-0.39, rel=1e-14)
    p = {"w": np.array([0.0])}
    opt = optim.SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.step(p, {"w": g1})  # v = 1,   d = 1 + 0.9 * 1 = 1.9,     p = -0.19
    assert p["w"][0] == pytest.approx(-0.19, rel=1e-14)
    opt.step(p, {"w": g2})  # v = 2.9, d = 2 + 0.9 * 2.9 = 4.61,  p = -0.19 - 0.461 = -0.651
    assert p["w"][0] == pytest.approx(-0.651, rel=1e-14)


def test_first_steps_by_hand_momentum_with_weight_decay():
    p = {"w": np.array([2.0])}
    opt = optim.SGD(lr=0.1, momentum=0.5, weight_decay=0.25)
    opt.step(p, {"w": np.array([1.0])})  # g = 1 + 0.25 * 2 = 1.5, v = 1.5, p = 2 - 0.15 = 1.85
    assert p["w"][0] == pytest.approx(1.85, rel=1e-14)
    # g = 1 + 0.25 * 1.85 = 1.4625, v = 0.5 * 1.5 + 1.4625 = 2.2125, p = 1.85 - 0.22125
    opt.step(p, {"w": np.array([1.0])})
    assert p["w"][0] == pytest.approx(1.62875, rel=1e-14)


def test_first_steps_by_hand_adam():
    p = {"w": np.array([1.0])}
    opt = optim.Adam(lr=0.1)
    opt.step(p, {"w": np.array([0.5])})
    # m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025
    # m_hat = 0.05 / 0.1 = 0.5, v_hat = 0.00025 / 0.001 = 0.25, sqrt(v_hat) = 0.5
    # p = 1 - 0.1 * 0.5 / (0.5 + 1e-8): the first step has length lr whatever the scale of g
    p1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert p["w"][0] == pytest.approx(p1, rel=1e-14)
    opt.step(p, {"w": np.array([-1.0])})
    # m = 0.9 * 0.05 - 0.1 = -0.055,  v = 0.999 * 0.00025 + 0.001 = 0.00124975
    # m_hat = -0.055 / (1 - 0.81) = -0.055 / 0.19,  v_hat = 0.00124975 / (1 - 0.998001)
    m_hat, v_hat = -0.055 / 0.19, 0.00124975 / 0.001999
    assert p["w"][0] == pytest.approx(p1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rel=1e-12)


def test_first_step_by_hand_adamw_decays_before_the_adam_step():
    p = {"w": np.array([1.0])}
    optim.AdamW(lr=0.1, weight_decay=0.5).step(p, {"w": np.array([0.5])})
    # p = 1 * (1 - 0.1 * 0.5) = 0.95, then the Adam step of length 0.1 * 0.5 / (0.5 + 1e-8)
    assert p["w"][0] == pytest.approx(0.95 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-14)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_state_is_per_parameter_and_independent_of_dict_order(make):
    rng = np.random.default_rng(0)
    init = {"a": rng.standard_normal(3), "b": rng.standard_normal((2, 2))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in init.items()} for _ in range(5)]
    results = []
    for keys in (["a", "b"], ["b", "a"]):
        p = {k: init[k].copy() for k in keys}
        opt = make()
        for g in grads:
            opt.step(p, {k: g[k] for k in reversed(keys)})
        results.append(p)
        assert set(opt.state) == {"a", "b"}
    for k in init:
        np.testing.assert_array_equal(results[0][k], results[1][k])
    # Each parameter alone follows the same path as when stepped together with the other.
    alone = {"a": init["a"].copy()}
    opt = make()
    for g in grads:
        opt.step(alone, {"a": g["a"]})
    np.testing.assert_array_equal(alone["a"], results[0]["a"])


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_parameters_that_are_not_contiguous_are_updated_in_place(make):
    # A transposed view is updated in place, like a copy of it.
    rng = np.random.default_rng(2)
    base = rng.standard_normal((3, 5))
    grads = [rng.standard_normal((5, 3)) for _ in range(3)]
    view, copy = {"w": base.T}, {"w": base.T.copy()}
    for p in (view, copy):
        opt = make()
        for g in grads:
            opt.step(p, {"w": g})
    assert np.shares_memory(view["w"], base)
    np.testing.assert_array_equal(base.T, copy["w"])


TORCH_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.3, "eps": 1e-3}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.02, "alpha": 0.9, "eps": 1e-4}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1}),
]


def _torch_optimizer(torch, name, tensors, kwargs):
    return getattr(torch.optim, name)(tensors, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), TORCH_CASES)
def test_trajectories_equal_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p0 = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in p0.items()} for _ in range(20)]
    ours = {k: v.copy() for k, v in p0.items()}
    opt = getattr(optim, name)(**kwargs)
    theirs = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in p0.items()}
    topt = _torch_optimizer(torch, name, list(theirs.values()), kwargs)
    for i, g in enumerate(grads):
        if i == 10:  # a schedule changes lr mid-run: both must use the new value the same way
            opt.lr = topt.param_groups[0]["lr"] = kwargs["lr"] / 3
        opt.step(ours, g)
        for k, t in theirs.items():
            t.grad = torch.tensor(g[k])
        topt.step()
        for k in p0:
            np.testing.assert_allclose(
                ours[k], theirs[k].detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=f"step {i}"
            )


def test_float32_parameters_stay_float32():
    p = {"w": np.ones(3, np.float32)}
    for make in ALL:
        make().step(p, {"w": np.ones(3, np.float32)})
        assert p["w"].dtype == np.float32


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: optim.SGD(lr=-0.1), r"SGD: lr must be positive \(> 0\), got -0.1"),
        (lambda: optim.SGD(lr=0), r"SGD: lr must be positive \(> 0\), got 0"),
        (lambda: optim.Adam(lr=float("nan")), r"Adam: lr must be positive \(> 0\), got nan"),
        (
            lambda: optim.SGD(lr=0.1, nesterov=True),
            r"SGD: nesterov=True needs momentum > 0, got momentum=0.0",
        ),
        (
            lambda: optim.SGD(lr=0.1, momentum=-1),
            r"SGD: momentum must be non-negative \(>= 0\), got -1",
        ),
        (
            lambda: optim.SGD(lr=0.1, weight_decay=-0.5),
            r"SGD: weight_decay must be non-negative \(>= 0\), got -0.5",
        ),
        (
            lambda: optim.Adam(lr=0.1, betas=(0.9, 1.0)),
            r"Adam: betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)",
        ),
        (
            lambda: optim.AdamW(lr=0.1, betas=(-0.1, 0.9)),
            r"AdamW: betas must be two numbers in \[0, 1\), got \(-0.1, 0.9\)",
        ),
        (lambda: optim.Adam(lr=0.1, betas=(0.9,)), r"Adam: betas must be two numbers"),
        (lambda: optim.Adam(lr=0.1, eps=0), r"Adam: eps must be positive \(> 0\), got 0"),
        (
            lambda: optim.AdamW(lr=0.1, weight_decay=-1),
            r"AdamW: weight_decay must be non-negative \(>= 0\), got -1",
        ),
        (lambda: optim.RMSprop(lr=0.1, alpha=1.0), r"RMSprop: alpha must be in \[0, 1\), got 1.0"),
        (lambda: optim.RMSprop(lr=0.1, eps=-1e-8), r"RMSprop: eps must be positive"),
        (lambda: optim.Adagrad(lr=0.1, eps=-1), r"Adagrad: eps must be positive \(> 0\), got -1"),
    ],
)
def test_bad_hyper_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_step_names_a_missing_or_misshapen_gradient(make):
    opt = make()
    name = type(opt).__name__
    with pytest.raises(ValueError, match=rf"{name}.step: no gradient for parameter 'b'"):
        opt.step({"a": np.zeros(2), "b": np.zeros(2)}, {"a": np.zeros(2)})
    with pytest.raises(
        ValueError,
        match=rf"{name}.step: gradient 'a' has shape \(3,\), expected the parameter's shape \(2,\)",
    ):
        opt.step({"a": np.zeros(2)}, {"a": np.zeros(3)})


def test_lr_attribute_changes_the_next_step():
    p = {"w": np.array([0.0])}
    opt = optim.SGD(lr=0.1)
    opt.step(p, {"w": np.array([1.0])})
    opt.lr = 0.01
    opt.step(p, {"w": np.array([1.0])})
    assert p["w"][0] == pytest.approx(-0.11, rel=1e-14)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_numpy_scalar_hyperparameters_keep_float32_arithmetic(name):
    """lr = np.float64(0.01) (from np.logspace, say) gives the numbers of lr = 0.01.

    NumPy 2 would compute float32 array op np.float64 scalar in float64 (5-6 times slower,
    and rounded differently); the optimizers turn every hyperparameter into a Python float.
    """
    kwargs = {"SGD": {"momentum": 0.9, "weight_decay": 1e-3}, "AdamW": {"weight_decay": 0.1}}
    rng = np.random.default_rng(7)
    p0 = rng.standard_normal(4096).astype(np.float32)
    grads = [rng.standard_normal(4096).astype(np.float32) for _ in range(20)]
    finals = []
    for lr in (0.01, np.float64(0.01)):
        extra = {k: np.float64(v) for k, v in kwargs.get(name, {}).items()}
        opt, params = getattr(optim, name)(lr=lr, **extra), {"w": p0.copy()}
        for g in grads:
            opt.step(params, {"w": g})
        assert params["w"].dtype == np.float32
        finals.append(params["w"])
    np.testing.assert_array_equal(finals[0], finals[1])


def test_state_is_kept_per_key_and_belongs_to_one_set_of_parameters():
    p, g = {"w": np.zeros(3)}, {"w": np.ones(3)}
    opt = optim.Adam(lr=0.1)
    opt.step(p, g)
    opt.step(p, g)
    assert opt.state["w"]["step"] == 2 and set(opt.state["w"]) == {"step", "m", "v"}
    other = {"w": np.zeros(3)}  # same key, same shape, another array: another model's
    with pytest.raises(ValueError, match=r"Adam.step: parameter 'w' is not the array this "
                       r"optimizer has been updating.*reset\(\)"):  # fmt: skip
        opt.step(other, g)
    with pytest.raises(ValueError, match=r"is not the array"):
        opt.step({"w": np.zeros(5)}, {"w": np.ones(5)})  # another size: the same message
    opt.reset()
    opt.step(other, g)
    assert opt.state["w"]["step"] == 1


@pytest.mark.parametrize(("old", "new"), [("AdaGrad", "Adagrad"), ("RMSProp", "RMSprop")])
def test_the_old_names_still_work_with_a_deprecation_warning(old, new):
    with pytest.warns(DeprecationWarning, match=f"{old} is now spelled {new}"):
        opt = getattr(optim, old)(lr=0.1)
    assert isinstance(opt, getattr(optim, new))
    p = {"w": np.ones(2)}
    opt.step(p, {"w": np.ones(2)})
    expected = {"w": np.ones(2)}
    getattr(optim, new)(lr=0.1).step(expected, {"w": np.ones(2)})
    np.testing.assert_array_equal(p["w"], expected["w"])
