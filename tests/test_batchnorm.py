"""Batch normalisation (Chapter 9): gradients, PyTorch's semantics in both modes, state."""

import numpy as np
import pytest

import nnlib
from nnlib.conv import BatchNorm2d, Conv2D
from nnlib.gradcheck import check_layer, rel_error
from nnlib.layers import BatchNorm1d, Dense, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD
from nnlib.train import fit

CASES = [
    (BatchNorm1d, (6, 4)),
    (BatchNorm1d, (2, 3)),  # the smallest batch training accepts
    (BatchNorm2d, (3, 2, 4, 5)),
    (BatchNorm2d, (1, 3, 3, 2)),  # one image: statistics over its H W positions
]


def randomised(make, C, seed):
    """A layer with gamma, beta and running statistics away from their initial values."""
    layer = make(C, dtype=np.float64)
    rng = np.random.default_rng(seed)
    layer.params["gamma"][...] = rng.uniform(0.5, 2, C) * rng.choice([-1, 1], C)
    layer.params["beta"][...] = rng.standard_normal(C)
    layer.buffers["running_mean"][...] = rng.standard_normal(C)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 3, C)
    return layer


@pytest.mark.parametrize("make, shape", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_passes_the_gradient_check(make, shape, training):
    rng = np.random.default_rng(1)
    layer = randomised(make, shape[1], 2)
    x = rng.standard_normal(shape) * 3 + rng.standard_normal(shape[1:2]).reshape(
        (1, -1) + (1,) * (len(shape) - 2)
    )
    assert check_layer(layer, x, rng=3, training=training) < 1e-7


def test_the_gradient_check_in_training_mode_catches_an_evaluation_mode_backward():
    """The batch statistics' own gradient is what the compact form adds: leave it out
    (the evaluation-mode formula) and the check fails."""

    class Wrong(BatchNorm1d):
        def backward(self, dout):
            self._training = False  # use dx = gamma dout / sqrt(var + eps) in training too
            return super().backward(dout)

    x = np.random.default_rng(0).standard_normal((5, 3))
    assert check_layer(Wrong(3, dtype=np.float64), x, rng=1, training=True) > 1e-2


@pytest.mark.parametrize("make, shape", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_batchnorm_equals_pytorch_in_both_modes(make, shape):
    torch = pytest.importorskip("torch")
    C = shape[1]
    ours = randomised(make, C, 4)
    theirs = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(
        C, eps=1e-3, momentum=0.3, dtype=torch.float64
    )
    ours.eps, ours.momentum = 1e-3, 0.3
    with torch.no_grad():
        theirs.weight[...] = torch.tensor(ours.params["gamma"])
        theirs.bias[...] = torch.tensor(ours.params["beta"])
        theirs.running_mean[...] = torch.tensor(ours.buffers["running_mean"])
        theirs.running_var[...] = torch.tensor(ours.buffers["running_var"])
    rng = np.random.default_rng(5)
    for training in (True, True, False, True, False):  # state carries over between calls
        theirs.train(training)
        x = rng.standard_normal(shape) * 2 + 1
        dout = rng.standard_normal(shape)
        xt = torch.tensor(x, requires_grad=True)
        theirs.zero_grad()
        out_t = theirs(xt)
        out_t.backward(torch.tensor(dout))
        out = ours.forward(x, training=training)
        dx = ours.backward(dout)
        assert rel_error(out, out_t.detach().numpy()) < 1e-12
        assert rel_error(dx, xt.grad.numpy()) < 1e-12
        assert rel_error(ours.grads["gamma"], theirs.weight.grad.numpy()) < 1e-12
        assert rel_error(ours.grads["beta"], theirs.bias.grad.numpy()) < 1e-12
        for name in ("running_mean", "running_var"):
            assert rel_error(ours.buffers[name], getattr(theirs, name).numpy()) < 1e-12, name


def test_batchnorm2d_in_float32_equals_pytorch_on_a_conv_output():
    """In a network with the engine on, BatchNorm2d receives the engine's batch-last
    convolution output; the numbers are PyTorch's to float32 rounding."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 2, 9, 9)).astype(np.float32)
    net = Sequential([Conv2D(2, 4, 3, rng=0), BatchNorm2d(4)])
    out = net.forward(x, training=True)
    conv = torch.nn.functional.conv2d(
        torch.tensor(x),
        torch.tensor(net.layers[0].params["W"]),
        torch.tensor(net.layers[0].params["b"]),
    )
    bn = torch.nn.BatchNorm2d(4)
    np.testing.assert_allclose(out, bn(conv).detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.buffers["1.running_var"], bn.running_var.numpy(), rtol=1e-5)


def test_initial_values_and_the_running_update_by_hand():
    layer = BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    np.testing.assert_array_equal(layer.params["gamma"], [1, 1])
    np.testing.assert_array_equal(layer.params["beta"], [0, 0])
    np.testing.assert_array_equal(layer.buffers["running_mean"], [0, 0])
    np.testing.assert_array_equal(layer.buffers["running_var"], [1, 1])
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 6.0]])
    out = layer.forward(x, training=True)
    # Feature 0: mean 3, biased variance 8/3, unbiased 4.
    np.testing.assert_allclose(out[:, 0], (x[:, 0] - 3) / np.sqrt(8 / 3 + 1e-5))
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.75, 0.5])
    np.testing.assert_allclose(layer.buffers["running_var"], [0.75 + 0.25 * 4, 0.75 + 0.25 * 12])
    # Evaluation: the running statistics, and each row independent of the others.
    alone = layer.forward(x[:1])
    np.testing.assert_allclose(alone, layer.forward(x)[:1])
    np.testing.assert_allclose(alone[0, 0], (1 - 0.75) / np.sqrt(1.75 + 1e-5))


def test_errors_name_the_layer_and_what_was_expected():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\)"):
        BatchNorm1d(3).forward(np.zeros((2, 4)))
    with pytest.raises(
        ValueError, match=r"BatchNorm2d\(3\): expected input of shape \(N, 3, H, W\)"
    ):
        BatchNorm2d(3).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="more than one value per feature"):
        BatchNorm1d(3).forward(np.zeros((1, 3)), training=True)
    BatchNorm1d(3).forward(np.zeros((1, 3)))  # evaluation needs no batch statistics
    for bad in [dict(eps=0), dict(momentum=1.5), dict(dtype=np.int32)]:
        with pytest.raises(ValueError, match="BatchNorm2d"):
            BatchNorm2d(3, **bad)
    with pytest.raises(ValueError, match="num_features must be an integer >= 1"):
        BatchNorm1d(0)
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm1d(2).backward(np.zeros((2, 2)))


def test_running_statistics_are_saved_and_loaded_with_the_network(tmp_path):
    def make():
        return Sequential([Conv2D(1, 3, 3, rng=0), BatchNorm2d(3), ReLU(), nnlib.layers.Flatten(),
                           Dense(27, 4, rng=1), BatchNorm1d(4)])  # fmt: skip

    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((40, 1, 5, 5)).astype(np.float32), rng.integers(0, 4, 40)
    model = make()
    fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=2, batch_size=8, progress=False)
    assert sorted(model.buffers) == ["1.running_mean", "1.running_var", "5.running_mean",
                                     "5.running_var"]  # fmt: skip
    assert not np.allclose(model.buffers["5.running_var"], 1)  # training moved them
    model.save(tmp_path / "bn")
    twin = make().load(tmp_path / "bn")
    for key, value in {**model.params, **model.buffers}.items():
        np.testing.assert_array_equal(value, {**twin.params, **twin.buffers}[key], err_msg=key)
    np.testing.assert_array_equal(model.predict(X), twin.predict(X))


def test_load_checks_buffers_before_writing_anything(tmp_path):
    model = Sequential([Dense(3, 2, rng=0), BatchNorm1d(2)])
    arrays = {**model.params, **model.buffers}
    before = {k: v.copy() for k, v in arrays.items()}
    bad = {k: v + 1 for k, v in arrays.items()}
    bad["1.running_var"] = np.array([1.0, np.nan])
    np.savez(tmp_path / "nan.npz", **bad)
    with pytest.raises(ValueError, match=r"buffer '1.running_var' .* NaN or inf"):
        model.load(tmp_path / "nan.npz")
    del bad["1.running_var"]
    np.savez(tmp_path / "missing.npz", **bad)
    with pytest.raises(ValueError, match=r"missing \['1.running_var'\]"):
        model.load(tmp_path / "missing.npz")
    bad["1.running_var"] = np.ones(3)
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(ValueError, match=r"buffer '1.running_var' is float64 of shape \(3,\)"):
        model.load(tmp_path / "shape.npz")
    for key, value in {**model.params, **model.buffers}.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.mark.parametrize("engine", [True, False])
def test_training_with_batchnorm_reduces_the_loss_with_the_engine_on_and_off(engine, blobs):
    X, y = blobs(n=256)
    previous = nnlib.set_engine(engine)
    try:
        model = Sequential([Dense(20, 32, rng=0), BatchNorm1d(32), ReLU(), Dense(32, 4, rng=1)])
        history = fit(model, SoftmaxCrossEntropy(), SGD(0.1, momentum=0.9), X, y, epochs=5,
                      batch_size=32, rng=0, progress=False)  # fmt: skip
    finally:
        nnlib.set_engine(previous)
    assert history.loss[-1] < 0.5 * history.loss[0]


@pytest.mark.parametrize("batch_last", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_the_engines_batchnorm2d_equals_the_readable_layer(batch_last, training):
    """nnlib._engine.norm rearranges the sums (rows of a (C, H W N) matrix): float64
    results within 1e-12 of the readable layer, for inputs stored batch-last (as the
    engine's convolutions leave them) and in C order (copied once)."""
    from nnlib._engine.norm import BatchNorm2dStep

    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 3, 4, 6)) * 2 + 1
    if batch_last:
        x = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    dout = rng.standard_normal(x.shape)
    readable, fast = randomised(BatchNorm2d, 3, 12), randomised(BatchNorm2d, 3, 12)
    step = BatchNorm2dStep(fast)
    for _ in range(2):  # the second call sees running statistics the first one moved
        out = readable.forward(x, training=training)
        dx = readable.backward(dout)
        out_f = step.forward(x, training=training)
        dx_f = step.backward(dout)
        assert rel_error(out_f, out) < 1e-12 and rel_error(dx_f, dx) < 1e-12
        for name in ("gamma", "beta"):
            assert rel_error(fast.grads[name], readable.grads[name]) < 1e-12, name
        for name in ("running_mean", "running_var"):
            assert rel_error(fast.buffers[name], readable.buffers[name]) < 1e-12, name
    assert step.backward(dout, input_grad=False) is None
    assert out_f.transpose(1, 2, 3, 0).flags.c_contiguous  # handed on batch-last
    net = Sequential([Conv2D(3, 3, 1, rng=0), BatchNorm2d(3)])
    assert [type(s).__name__ for s in net._engine_plan().steps] == ["ConvStep", "BatchNorm2dStep"]
