"""Tests of nnlib.conv (the readable layers): gradients, naive == im2col, agreement with
PyTorch, error messages. tests/test_engine.py checks the engine's convolution against these."""

import numpy as np
import pytest

from nnlib.conv import (
    Conv2D,
    MaxPool2D,
    col2im,
    conv2d_backward_naive,
    conv2d_forward_naive,
    conv_output_size,
    im2col,
)
from nnlib.gradcheck import check_layer, rel_error
from nnlib.layers import Flatten

# (N, C, H, W), F, kernel, stride, padding: square and non-square inputs and kernels.
CONV_CASES = [
    ((2, 3, 7, 7), 4, 3, 1, 0),
    ((2, 2, 6, 9), 3, 3, 2, 1),
    ((1, 3, 8, 5), 2, (3, 2), 1, 2),
    ((3, 1, 9, 7), 2, 5, 2, 2),
    ((2, 2, 5, 5), 3, 1, 1, 0),
]
# (N, C, H, W), kernel, stride: tiling, ragged edges and overlapping windows.
POOL_CASES = [
    ((2, 3, 8, 6), 2, None),
    ((2, 2, 7, 9), 2, None),
    ((2, 2, 7, 9), 3, 2),
    ((1, 2, 5, 6), 3, 1),
    ((2, 1, 9, 9), 3, None),
]


def case_id(case):
    return "-".join(str(part) for part in case)


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv2d_gradients(case):
    shape, F, k, stride, padding = case
    layer = Conv2D(shape[1], F, k, stride=stride, padding=padding, rng=0, dtype=np.float64)
    layer.params["b"][...] = np.random.default_rng(1).standard_normal(F)
    x = np.random.default_rng(2).standard_normal(shape)
    assert check_layer(layer, x, rng=3) < 1e-6


@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_maxpool2d_gradients(case):
    shape, k, stride = case
    x = np.random.default_rng(4).standard_normal(shape)
    assert check_layer(MaxPool2D(k, stride), x, rng=5) < 1e-6


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_naive_and_im2col_agree(case):
    shape, F, k, stride, padding = case
    rng = np.random.default_rng(6)
    HH, WW = (k, k) if np.isscalar(k) else k
    x = rng.standard_normal(shape)
    W = rng.standard_normal((F, shape[1], HH, WW))
    b = rng.standard_normal(F)
    out_naive = conv2d_forward_naive(x, W, b, stride, padding)
    layer = Conv2D(shape[1], F, k, stride=stride, padding=padding, dtype=np.float64)
    layer.params["W"][...], layer.params["b"][...] = W, b
    out_fast = layer.forward(x)
    H_out = conv_output_size(shape[2], HH, stride, padding)
    W_out = conv_output_size(shape[3], WW, stride, padding)
    assert out_naive.shape == (shape[0], F, H_out, W_out)
    assert rel_error(out_naive, out_fast) < 1e-12
    dout = rng.standard_normal(out_naive.shape)
    grads_naive = conv2d_backward_naive(dout, x, W, stride, padding)
    dx = layer.backward(dout)
    grads_fast = dx, layer.grads["W"], layer.grads["b"]
    for name, g1, g2 in zip(["dx", "dW", "db"], grads_naive, grads_fast):
        assert g1.shape == g2.shape, name
        assert rel_error(g1, g2) < 1e-12, name


def test_naive_backward_is_the_gradient():
    """The naive backward (the chapter's derivation) against central differences."""
    from nnlib.gradcheck import numerical_gradient

    rng = np.random.default_rng(7)
    x, W, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
    dout = rng.standard_normal((2, 3, 3, 3))
    dx, dW, _ = conv2d_backward_naive(dout, x, W, stride=2, padding=1)

    def loss(_):
        return float(np.sum(conv2d_forward_naive(x, W, b, 2, 1) * dout))

    assert rel_error(dx, numerical_gradient(loss, x)) < 1e-6
    assert rel_error(dW, numerical_gradient(loss, W)) < 1e-6


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)> for any x and c: col2im is im2col transposed."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = im2col(x, 3, 2, stride=2, padding=1)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * col2im(c, x.shape, 3, 2, stride=2, padding=1))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_float32_by_default_and_dtype_kept():
    layer = Conv2D(1, 2, 3, rng=0)
    assert layer.params["W"].dtype == np.float32 and layer.params["b"].dtype == np.float32
    x = np.random.default_rng(0).random((2, 1, 6, 6), dtype=np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert layer.grads["W"].dtype == np.float32
    pooled = MaxPool2D(2).forward(out)
    assert pooled.dtype == np.float32


def test_he_init_and_seed():
    a, b = Conv2D(8, 16, 5, rng=1), Conv2D(8, 16, 5, rng=1)
    assert np.array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], Conv2D(8, 16, 5, rng=2).params["W"])
    assert a.params["W"].std() == pytest.approx(np.sqrt(2 / (8 * 25)), rel=0.05)
    assert np.all(a.params["b"] == 0)


def test_backward_writes_into_grads_and_leaves_params():
    layer = Conv2D(2, 3, 3, padding=1, rng=0)
    W_before = layer.params["W"].copy()
    grad_arrays = {k: id(v) for k, v in layer.grads.items()}
    x = np.random.default_rng(0).random((2, 2, 5, 4), dtype=np.float32)
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    assert {k: id(v) for k, v in layer.grads.items()} == grad_arrays
    assert np.array_equal(layer.params["W"], W_before)
    assert np.abs(layer.grads["W"]).sum() > 0
    assert layer.grads["b"] == pytest.approx(np.full(3, out[:, 0].size))


def test_output_shapes_and_flatten():
    conv, pool = Conv2D(3, 5, 3, stride=2, padding=1), MaxPool2D(2)
    x = np.zeros((4, 3, 11, 8), dtype=np.float32)
    out = conv.forward(x)
    assert out.shape == conv.output_shape(x.shape) == (4, 5, 6, 4)
    pooled = pool.forward(out)
    assert pooled.shape == pool.output_shape(out.shape) == (4, 5, 3, 2)
    flat = Flatten().forward(pooled)
    assert flat.shape == (4, 30)


def test_maxpool_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = 1.0  # the bottom-right window is all ones, the others all zeros
    pool = MaxPool2D(2)
    pool.forward(x)
    dx = pool.backward(np.full((1, 1, 2, 2), 3.0))
    assert dx.sum() == pytest.approx(12.0)  # each window passes on its gradient once
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 3.0
    assert np.array_equal(dx[0, 0], expected)
    # Ties that do not include the window's first element: the first tied one gets it.
    for window, first in [([[1, 3], [3, 0]], (0, 1)), ([[0, 1], [1, 1]], (0, 1)),
                          ([[0, 0], [2, 2]], (1, 0))]:  # fmt: skip
        for stride in (None, 1):  # tiling windows, and the general (here: one window) path
            pool = MaxPool2D(2, stride)
            pool.forward(np.array(window, dtype=float)[None, None])
            dx = pool.backward(np.ones((1, 1, 1, 1)))
            expected = np.zeros((2, 2))
            expected[first] = 1.0
            assert np.array_equal(dx[0, 0], expected), (window, stride)


def test_conv_and_pool_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    for shape, n_filters, k, stride, padding in CONV_CASES:
        layer = Conv2D(shape[1], n_filters, k, stride=stride, padding=padding, rng=0)
        layer.params["b"][...] = rng.standard_normal(n_filters)
        x = rng.standard_normal(shape).astype(np.float32)
        xt = torch.tensor(x, requires_grad=True)
        Wt = torch.tensor(layer.params["W"], requires_grad=True)
        bt = torch.tensor(layer.params["b"], requires_grad=True)
        out_t = F.conv2d(xt, Wt, bt, stride=stride, padding=padding)
        dout = rng.standard_normal(out_t.shape).astype(np.float32)
        out_t.backward(torch.tensor(dout))
        out = layer.forward(x)
        dx = layer.backward(dout)
        assert rel_error(out, out_t.detach().numpy()) < 1e-5
        assert rel_error(dx, xt.grad.numpy()) < 1e-5
        assert rel_error(layer.grads["W"], Wt.grad.numpy()) < 1e-5
        assert rel_error(layer.grads["b"], bt.grad.numpy()) < 1e-5
    for shape, k, stride in POOL_CASES:
        # ReLU-like inputs: many zeros, so windows with tied maxima are common.
        x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
        xt = torch.tensor(x, requires_grad=True)
        out_t = F.max_pool2d(xt, k, stride)
        dout = rng.standard_normal(out_t.shape).astype(np.float32)
        out_t.backward(torch.tensor(dout))
        pool = MaxPool2D(k, stride)
        assert np.array_equal(pool.forward(x), out_t.detach().numpy())
        # Overlapping windows add gradients in a different order: equal up to rounding.
        assert rel_error(pool.backward(dout), xt.grad.numpy()) < 1e-6


def test_bad_input_is_named():
    conv = Conv2D(3, 4, 5, padding=1)
    with pytest.raises(ValueError, match=r"Conv2D\(3, 4, 5, padding=1\).*3 input channels.*"
                       r"\(N, 3, H, W\).*\(2, 1, 8, 8\)"):  # fmt: skip
        conv.forward(np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv2D.*\(2, 3, 2, 2\).*4x4 after padding 1.*5x5"):
        conv.forward(np.zeros((2, 3, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv2D.*expected input of shape \(N, 3, H, W\).*"
                       r"\(3, 8, 8\)"):  # fmt: skip
        conv.forward(np.zeros((3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"MaxPool2D\(3\).*\(1, 2, 2, 5\).*2x5.*3x3"):
        MaxPool2D(3).forward(np.zeros((1, 2, 2, 5)))
    with pytest.raises(ValueError, match=r"MaxPool2D.*\(N, C, H, W\).*\(4, 4\)"):
        MaxPool2D(2).forward(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"conv2d_forward_naive.*2 input channels"):
        conv2d_forward_naive(np.zeros((1, 3, 4, 4)), np.zeros((1, 2, 3, 3)), np.zeros(1))
    with pytest.raises(ValueError, match=r"Conv2D.*backward expected dout of shape"):
        conv.forward(np.zeros((2, 3, 8, 8), dtype=np.float32))
        conv.backward(np.zeros((2, 4, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv2D: kernel_size must be an integer >= 1, got 0"):
        Conv2D(1, 1, 0)
