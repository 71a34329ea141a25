"""Tests of nnlib.conv: gradients, naive == im2col, agreement with PyTorch, error messages."""

import itertools

import numpy as np
import pytest

from nnlib.conv import (
    Conv2D,
    ConvReLUPool,
    MaxPool2D,
    _sum_of_products,
    col2im,
    conv2d_backward_im2col,
    conv2d_backward_naive,
    conv2d_backward_sliced,
    conv2d_forward_im2col,
    conv2d_forward_naive,
    conv2d_forward_sliced,
    conv_output_size,
    im2col,
)
from nnlib.gradcheck import check_layer, rel_error
from nnlib.layers import Flatten, ReLU
from nnlib.network import Sequential

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


@pytest.mark.parametrize("keep_columns", [True, False], ids=["keep", "slices"])
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv2d_gradients(case, keep_columns):
    shape, F, k, stride, padding = case
    layer = Conv2D(shape[1], F, k, stride=stride, padding=padding, rng=0, dtype=np.float64,
                   keep_columns=keep_columns)  # fmt: skip
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
    out_fast, cols = conv2d_forward_im2col(x, W, b, stride, padding)
    H_out = conv_output_size(shape[2], HH, stride, padding)
    W_out = conv_output_size(shape[3], WW, stride, padding)
    assert out_naive.shape == (shape[0], F, H_out, W_out)
    assert rel_error(out_naive, out_fast) < 1e-12
    dout = rng.standard_normal(out_naive.shape)
    grads_naive = conv2d_backward_naive(dout, x, W, stride, padding)
    grads_fast = conv2d_backward_im2col(dout, cols, x.shape, W, stride, padding)
    for name, g1, g2 in zip(["dx", "dW", "db"], grads_naive, grads_fast):
        assert g1.shape == g2.shape, name
        assert rel_error(g1, g2) < 1e-12, name


# (N, C, H, W), F, kernel, stride, padding, pool: ConvReLUPool against the three layers.
# Zero padding of a zero border makes exactly tied maxima; 11 and 7 leave ragged edges.
FUSED_CASES = [
    ((2, 1, 8, 8), 3, 5, 1, 2, 2),
    ((2, 3, 11, 7), 4, 3, 1, 1, 2),
    ((3, 2, 9, 12), 2, (3, 2), 2, 1, 3),
    ((1, 2, 6, 6), 2, 1, 1, 0, 1),
]


@pytest.mark.parametrize("keep_columns", [True, False], ids=["keep", "slices"])
@pytest.mark.parametrize("case", FUSED_CASES, ids=case_id)
def test_conv_relu_pool_equals_the_three_layers(case, keep_columns):
    """Same function, same gradients: pooling before bias and ReLU changes nothing."""
    shape, F, k, stride, padding, pool = case
    rng = np.random.default_rng(10)
    fused = Sequential([ConvReLUPool(shape[1], F, k, pool=pool, stride=stride,
                                     padding=padding, rng=0, dtype=np.float64,
                                     keep_columns=keep_columns)])  # fmt: skip
    layers = Sequential([Conv2D(shape[1], F, k, stride=stride, padding=padding, rng=0,
                                dtype=np.float64, keep_columns=not keep_columns), ReLU(),
                         MaxPool2D(pool)])  # fmt: skip
    assert np.array_equal(fused.flat_params, layers.flat_params)  # same rng, same weights
    b = rng.standard_normal(F) * 0.5
    fused.layers[0].params["b"][...] = layers.layers[0].params["b"][...] = b
    x = rng.standard_normal(shape)
    x[:, :, :2] = 0  # zero rows: windows whose values tie exactly
    out = fused.forward(x)
    assert out.shape == fused.layers[0].output_shape(x.shape)
    assert np.array_equal(out, layers.forward(x))
    dout = rng.standard_normal(out.shape)
    assert rel_error(fused.backward(dout), layers.backward(dout)) < 1e-12
    assert rel_error(fused.flat_grads, layers.flat_grads) < 1e-12


def test_conv_relu_pool_gradients_and_errors():
    x = np.random.default_rng(11).standard_normal((2, 2, 6, 8))
    for keep_columns in (True, False):
        layer = ConvReLUPool(2, 3, 3, pool=2, padding=1, rng=0, dtype=np.float64,
                             keep_columns=keep_columns)  # fmt: skip
        layer.params["b"][...] = [0.3, -0.2, 0.1]
        assert check_layer(layer, x, rng=12) < 1e-6
    assert repr(layer) == "ConvReLUPool(2, 3, 3, padding=1, pool=2)"
    with pytest.raises(ValueError, match=r"ConvReLUPool\(2, 3, 3, padding=1, pool=2\).*"
                       r"2 input channels.*\(2, 1, 6, 8\)"):  # fmt: skip
        layer.forward(np.zeros((2, 1, 6, 8)))
    with pytest.raises(ValueError, match=r"ConvReLUPool.*backward expected dout of shape "
                       r"\(2, 3, 3, 4\)"):  # fmt: skip
        layer.forward(x)
        layer.backward(np.zeros((2, 3, 6, 8)))


def test_images_stay_batch_last_between_layers():
    """Conv2D and MaxPool2D return (N, C, H, W) arrays stored batch-last, the next Conv2D
    reads them without a copy, and Flatten hands the gradient back in that order."""
    x = np.random.default_rng(13).random((4, 2, 10, 10), dtype=np.float32)
    net = Sequential([Conv2D(2, 3, 3, rng=0), ReLU(), MaxPool2D(2), Conv2D(3, 4, 3, rng=1),
                      Flatten()])  # fmt: skip
    outs = []
    for layer in net.layers[:-1]:
        x = layer.forward(x)
        outs.append(x)
    for out in outs:
        assert out.transpose(1, 2, 3, 0).flags.c_contiguous, out.strides
    flat = net.layers[-1].forward(x)
    dflat = net.layers[-1].backward(np.ones_like(flat))
    assert dflat.strides == x.strides  # stored like its input, not in C order
    # The same numbers as a C-ordered computation.
    c_order = np.ascontiguousarray(outs[2])
    assert np.array_equal(net.layers[3].forward(c_order), outs[3])


def test_sum_of_products_is_a_matmul():
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((7, 10_000)), rng.standard_normal((3, 10_000))
    assert rel_error(_sum_of_products(a, b, chunk=4096), a @ b.T) < 1e-12
    assert rel_error(_sum_of_products(a[:, :5], b[:, :5]), a[:, :5] @ b[:, :5].T) < 1e-12


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
@pytest.mark.parametrize("rows_per_slice", [1, 2, None])
def test_sliced_and_im2col_agree(case, rows_per_slice, monkeypatch):
    """The products over slices of output rows (one row, two with a ragged last slice,
    all at once) give the whole-matrix im2col numbers, forward and backward."""
    from nnlib import conv

    shape, F, k, stride, padding = case
    rng = np.random.default_rng(15)
    HH, WW = (k, k) if np.isscalar(k) else k
    x, W, b = (rng.standard_normal(shape), rng.standard_normal((F, shape[1], HH, WW)),
               rng.standard_normal(F))  # fmt: skip
    out, cols = conv2d_forward_im2col(x, W, b, stride, padding)
    if rows_per_slice is not None:
        W_out = out.shape[3]
        monkeypatch.setattr(conv, "SLICE", rows_per_slice * W_out * shape[0])
    assert rel_error(conv2d_forward_sliced(x, W, b, stride, padding), out) < 1e-12
    dout = rng.standard_normal(out.shape)
    whole = conv2d_backward_im2col(dout, cols, x.shape, W, stride, padding)
    sliced = conv2d_backward_sliced(dout, x, W, stride, padding)
    for name, g1, g2 in zip(["dx", "dW", "db"], whole, sliced):
        assert g1.shape == g2.shape, name
        assert rel_error(g1, g2) < 1e-12, name
    dx, dW, db = conv2d_backward_sliced(dout, x, W, stride, padding, False, bias_grad=False)
    assert dx is None and db is None and rel_error(dW, whole[1]) < 1e-12


def test_few_filters_build_the_columns_in_slices_many_keep_them():
    """The default: below KEEP_COLUMNS_FROM filters the layer keeps no im2col matrix."""
    from nnlib.conv import KEEP_COLUMNS_FROM

    x = np.random.default_rng(16).random((2, 1, 8, 8), dtype=np.float32)
    few, many = Conv2D(1, KEEP_COLUMNS_FROM - 1, 3), Conv2D(1, KEEP_COLUMNS_FROM, 3)
    assert not few.keep_columns and many.keep_columns
    few.forward(x), many.forward(x)
    assert few._cols is None and many._cols.shape == (9, 6 * 6 * 2)
    assert Conv2D(1, 2, 3, keep_columns=True).keep_columns
    assert not ConvReLUPool(1, 32, 3, keep_columns=False).keep_columns


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
    for (shape, n_filters, k, stride, padding), keep in itertools.product(CONV_CASES, [0, 1]):
        layer = Conv2D(shape[1], n_filters, k, stride=stride, padding=padding, rng=0,
                       keep_columns=keep)  # fmt: skip
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
    with pytest.raises(ValueError, match=r"Conv2D: kernel_size must be >= 1"):
        Conv2D(1, 1, 0)
