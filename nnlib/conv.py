"""Convolution and pooling for images. Introduced in Chapter 6.

Images are NCHW: N images, C channels, H rows, W columns. A filter bank ``W`` has shape
(F, C, HH, WW): F filters, each HH x WW over all C channels. Like every deep-learning
library, "convolution" here computes a cross-correlation (the kernel is not flipped).

Two implementations of the same maths, kept side by side and tested equal:

- ``conv2d_forward_naive`` / ``conv2d_backward_naive``: loops over output positions, the
  derivation of Chapter 6 line by line. Slow, and meant to be read.
- ``conv2d_forward_im2col`` / ``conv2d_backward_im2col``: ``im2col`` copies every
  receptive field into a column so that the whole layer is one matrix product; ``col2im``
  adds the columns' gradients back into the image. ``Conv2D`` uses this one, or the same
  products over slices of the columns (``conv2d_forward_sliced``, see below).

Three choices make the layers fast without changing a number (Chapter 6, "Making it
fast"):

- Storage order. The arrays the layers return have the shape (N, C, H, W), but in memory
  the image index n varies fastest, as if stored (C, H, W, N): "batch-last". That is the
  order the matrix product produces, so Conv2D returns it without a copy, MaxPool2D keeps
  it, and the next Conv2D reads it without a copy. Indexing, shapes and values are those
  of any (N, C, H, W) array; only ``x.strides`` shows the difference.
- ``ConvReLUPool``: Conv2D, ReLU and MaxPool2D as one layer that pools before it adds
  the bias and applies ReLU, on a 4x smaller array.
- Columns in slices, for layers with few filters. With F filters the product does only
  2F multiply-adds per number of the im2col matrix, so for F = 6 (LeNet's first layer)
  its time goes to writing the matrix (10 MB for a batch of 128) to memory and reading
  it back, in the forward pass and again in the backward pass. ``conv2d_forward_sliced``
  builds the columns of a few output rows at a time in a small buffer and multiplies
  them while they are in the processor's cache; the backward pass builds each slice
  again instead of keeping the matrix. ``Conv2D`` does this when it has fewer than
  ``KEEP_COLUMNS_FROM`` filters (argument ``keep_columns``).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import Layer, _as_rng

__all__ = [
    "conv_output_size",
    "conv2d_forward_naive",
    "conv2d_backward_naive",
    "im2col",
    "col2im",
    "conv2d_forward_im2col",
    "conv2d_backward_im2col",
    "conv2d_forward_sliced",
    "conv2d_backward_sliced",
    "Conv2D",
    "MaxPool2D",
    "ConvReLUPool",
]


def conv_output_size(size, kernel, stride=1, padding=0):
    """Output length along one axis: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def _check_input(name, x, channels, HH, WW, padding):
    """Raise a ValueError naming the layer unless x is (N, channels, H, W), big enough."""
    C = "C" if channels is None else channels
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input of shape (N, {C}, H, W), got {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{name}: expected {channels} input channels, shape (N, {channels}, H, W), "
            f"got {x.shape}"
        )
    H, W = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if H < HH or W < WW:
        raise ValueError(
            f"{name}: input of shape {x.shape} is {H}x{W} after padding {padding}, "
            f"smaller than the {HH}x{WW} kernel"
        )


def _pad(x, padding):
    """Zero-pad the two spatial axes of an (N, C, H, W) array."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def conv2d_forward_naive(x, W, b, stride=1, padding=0):
    """Cross-correlation by loops over output positions (slow; the derivation).

    x: (N, C, H, W); W: (F, C, HH, WW); b: (F,). Returns out: (N, F, H_out, W_out) with
    out[n, f, i, j] = sum over c, p, q of xp[n, c, i s + p, j s + q] W[f, c, p, q] + b[f],
    where xp is x zero-padded and s the stride.
    """
    F, C, HH, WW = W.shape
    _check_input("conv2d_forward_naive", x, C, HH, WW, padding)
    xp = _pad(x, padding)
    N, _, H, Wd = x.shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(Wd, WW, stride, padding)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, W))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(window * W[f]) + b[f]
    return out


def conv2d_backward_naive(dout, x, W, stride=1, padding=0):
    """Gradients of ``conv2d_forward_naive`` by the same loops. Returns (dx, dW, db).

    dout: (N, F, H_out, W_out); x: (N, C, H, W); W: (F, C, HH, WW).
    Every output out[n, f, i, j] used one window of xp and the whole filter W[f], so it
    sends dout[n, f, i, j] * W[f] back to that window and dout[n, f, i, j] * window to dW[f].
    """
    F, C, HH, WW = W.shape
    xp = _pad(x, padding)
    dxp = np.zeros_like(xp, dtype=np.result_type(dout, x))
    dW = np.zeros_like(W, dtype=dxp.dtype)
    N, _, H_out, W_out = dout.shape
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * W[f]
                    dW[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
    db = dout.sum(axis=(0, 2, 3))
    H, Wd = x.shape[2:]
    dx = dxp[:, :, padding : padding + H, padding : padding + Wd]
    return dx, dW, db


def _transpose(a, block=64):
    """a.T of a 2-D array as a new contiguous array, copied ``block`` rows at a time.

    Moving the batch axis N of (N, C H W) to the end is such a transpose (``_batch_last``
    of an input stored in C order, such as a batch of images from the data set). Done
    in one go, NumPy's copy misses the cache on almost every element; in blocks that stay
    in cache it is 2-6x faster for LeNet's layers (0.4 ms against 2.6 ms for the first).
    """
    rows, cols = a.shape
    out = np.empty((cols, rows), dtype=a.dtype)
    if rows >= cols:
        for i in range(0, rows, block):
            out[:, i : i + block] = a[i : i + block].T
    else:
        for j in range(0, cols, block):
            out[j : j + block] = a[:, j : j + block].T
    return out


def _batch_last(x):
    """x: (N, C, H, W) -> the same numbers as an array (C, H, W, N).

    Free (a view) when x is stored batch-last, as Conv2D's and MaxPool2D's outputs are;
    otherwise one cache-blocked transpose.
    """
    xt = x.transpose(1, 2, 3, 0)
    if xt.flags.c_contiguous:
        return xt
    N = x.shape[0]
    return _transpose(np.ascontiguousarray(x).reshape(N, -1)).reshape(xt.shape)


def _sum_of_products(a, b, chunk=4096):
    """a @ b.T for two wide matrices (R, K) and (F, K), as a sum over slices of K.

    The same product as ``a @ b.T``. For LeNet's weight gradients (K = H_out W_out N is
    12,800 to 100,352 while R and F are at most 150), NumPy's OpenBLAS computed it 1.8-2.8x
    faster in slices of 4096 than in one call, with one thread or two.
    """
    out = a[:, :chunk] @ b[:, :chunk].T
    for k in range(chunk, a.shape[1], chunk):
        out += a[:, k : k + chunk] @ b[:, k : k + chunk].T
    return out


def _windows(x, HH, WW, stride=1, padding=0):
    """Every HH x WW window of x at once, as a view: no copy, only strides.

    x: (N, C, H, W). Returns an array of shape (C, HH, WW, H_out, W_out, N) whose element
    [c, p, q, i, j, n] is xp[n, c, i s + p, j s + q], where xp is x zero-padded and s the
    stride: pixel (p, q) of the window of output position (i, j), in image n.
    """
    xt = _batch_last(x)  # (C, H, W, N)
    if padding:  # zero borders around every image (np.pad, minus its layers of Python)
        C, H, W, N = xt.shape
        padded = np.zeros((C, H + 2 * padding, W + 2 * padding, N), dtype=xt.dtype)
        padded[:, padding:-padding, padding:-padding] = xt
        xt = padded
    # (C, H', W', N, HH, WW): the window whose top-left corner is each pixel, stride 1.
    windows = sliding_window_view(xt, (HH, WW), axis=(1, 2))[:, ::stride, ::stride]
    return windows.transpose(0, 4, 5, 1, 2, 3)


def im2col(x, HH, WW, stride=1, padding=0):
    """Copy every HH x WW receptive field of x into a column.

    x: (N, C, H, W). Returns cols of shape (C * HH * WW, H_out * W_out * N): row (c, p, q)
    holds xp[n, c, i s + p, j s + q] for every output position (i, j) of every image n.
    ``_windows`` views all the windows at once (``sliding_window_view``, only strides);
    one reshape copies them into the matrix, and no Python loop runs over positions.

    The image index n varies fastest along a row, a choice made for speed only: with the
    images as (C, H, W, N) (free for a batch-last x, else one transpose), the copy moves
    runs of W_out * N contiguous numbers instead of short rows of W_out (measured on
    LeNet's second convolution, batch of 128: forward 1.9 -> 1.6 ms, backward 4.6 ->
    2.9 ms, against the order (n, i, j)).
    """
    windows = _windows(x, HH, WW, stride, padding)  # (C, HH, WW, H_out, W_out, N)
    return windows.reshape(x.shape[1] * HH * WW, -1)  # a strided view: reshape copies


def col2im(dcols, x_shape, HH, WW, stride=1, padding=0):
    """The adjoint of ``im2col``: add every column back onto the window it came from.

    dcols: (C * HH * WW, H_out * W_out * N); x_shape: (N, C, H, W). Returns dx of shape
    x_shape, stored batch-last.
    Overlapping windows (stride < kernel) add up, as the chain rule demands.
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(W, WW, stride, padding)
    dcols = dcols.reshape(C, HH, WW, H_out, W_out, N)
    dxt = np.zeros((C, H + 2 * padding, W + 2 * padding, N), dtype=dcols.dtype)
    for p in range(HH):
        for q in range(WW):
            window = dxt[:, p : p + stride * H_out : stride, q : q + stride * W_out : stride]
            window += dcols[:, p, q]
    dxt = dxt[:, padding : padding + H, padding : padding + W]
    return dxt.transpose(3, 0, 1, 2)  # (N, C, H, W), stored batch-last


def conv2d_forward_im2col(x, W, b, stride=1, padding=0):
    """The same cross-correlation as one matrix product. Returns (out, cols).

    x: (N, C, H, W); W: (F, C, HH, WW); b: (F,), or None for no bias. out: (N, F, H_out,
    W_out), computed as W reshaped to (F, C HH WW) times im2col(x), stored batch-last
    (a view of the product, no copy); cols is kept for the backward pass.
    """
    F, C, HH, WW = W.shape
    _check_input("conv2d_forward_im2col", x, C, HH, WW, padding)
    N, _, H, Wd = x.shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(Wd, WW, stride, padding)
    cols = im2col(x, HH, WW, stride, padding)
    out = W.reshape(F, -1) @ cols  # (F, H_out W_out N)
    if b is not None:  # ConvReLUPool adds its bias after pooling
        out += b[:, None]
    out = out.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)  # (N, F, H_out, W_out)
    return out, cols


def conv2d_backward_im2col(
    dout, cols, x_shape, W, stride=1, padding=0, input_grad=True, bias_grad=True
):  # fmt: skip
    """Gradients by two matrix products and col2im. Returns (dx, dW, db).

    dout: (N, F, H_out, W_out); cols: im2col(x), (C HH WW, H_out W_out N);
    x_shape: (N, C, H, W); W: (F, C, HH, WW).
    dW = dout_mat cols^T, db = the sum of dout over everything but F, dcols = W_mat^T
    dout_mat, dx = col2im(dcols). ``input_grad=False`` skips dx and ``bias_grad=False``
    skips db (each then returned as None).
    """
    F = W.shape[0]
    dout_mat = _batch_last(dout).reshape(F, -1)  # (F, H_out W_out N), as cols
    dW = _sum_of_products(cols, dout_mat).T.reshape(W.shape)
    dx, db = _dx_and_db(dout_mat, x_shape, W, stride, padding, input_grad, bias_grad)
    return dx, dW, db


def _dx_and_db(dout_mat, x_shape, W, stride, padding, input_grad, bias_grad):
    """The gradients that need no columns: (dx, db), each None where not asked for.

    db sums dout_mat (F, H_out W_out N) over its columns; dx = col2im(W_mat^T dout_mat).
    """
    db = np.add.reduce(dout_mat, axis=1) if bias_grad else None  # .sum(axis=1), no Python
    if not input_grad:
        return None, db
    F, _, HH, WW = W.shape
    dcols = W.reshape(F, -1).T @ dout_mat
    return col2im(dcols, x_shape, HH, WW, stride, padding), db


SLICE = 4096  # im2col columns per slice in conv2d_forward_sliced / backward_sliced


def _column_slices(windows):
    """Yield (rows, cols): a few output rows and their im2col columns, about SLICE of them.

    windows: ``_windows(x, ...)``, (C, HH, WW, H_out, W_out, N). ``rows`` is a slice of
    output rows i, and ``cols`` is the part of ``im2col(x)`` that belongs to them, the
    matrix (C HH WW, rows W_out N), copied into one small buffer that every slice reuses,
    so it stays in the processor's cache. (NumPy's OpenBLAS also multiplies a matrix of
    few rows 1.5-4x faster per column in slices of a few thousand columns than whole.)
    """
    C, HH, WW, H_out, W_out, N = windows.shape
    step = max(1, SLICE // (W_out * N))  # output rows per slice
    buffer = np.empty(C * HH * WW * min(step, H_out) * W_out * N, dtype=windows.dtype)
    for i in range(0, H_out, step):
        rows = slice(i, min(i + step, H_out))
        cols = buffer[: C * HH * WW * (rows.stop - i) * W_out * N]
        cols = cols.reshape(C, HH, WW, rows.stop - i, W_out, N)
        cols[...] = windows[:, :, :, rows]
        yield rows, cols.reshape(C * HH * WW, -1)


def conv2d_forward_sliced(x, W, b, stride=1, padding=0):
    """``conv2d_forward_im2col``'s output, from its product in slices. Returns out only.

    x: (N, C, H, W); W: (F, C, HH, WW); b: (F,), or None for no bias. out: (N, F, H_out,
    W_out), stored batch-last. Each slice of columns (``_column_slices``) is multiplied by
    W reshaped to (F, C HH WW) into its own output rows. The whole im2col matrix is never
    built, so the backward pass needs only x.
    """
    F, C, HH, WW = W.shape
    _check_input("conv2d_forward_sliced", x, C, HH, WW, padding)
    windows = _windows(x, HH, WW, stride, padding)  # (C, HH, WW, H_out, W_out, N)
    _, _, _, H_out, W_out, N = windows.shape
    W_mat = W.reshape(F, -1)
    out = np.empty((F, H_out, W_out, N), dtype=np.result_type(x, W))
    for rows, cols in _column_slices(windows):
        np.matmul(W_mat, cols, out=out[:, rows].reshape(F, -1))
    if b is not None:  # ConvReLUPool adds its bias after pooling
        out += b[:, None, None, None]
    return out.transpose(3, 0, 1, 2)  # (N, F, H_out, W_out)


def conv2d_backward_sliced(
    dout, x, W, stride=1, padding=0, input_grad=True, bias_grad=True
):  # fmt: skip
    """Gradients of ``conv2d_forward_sliced``. Returns (dx, dW, db).

    The same as ``conv2d_backward_im2col``, with dW = dout_mat cols^T summed over the
    slices of columns, each built again from x while it is needed.
    """
    F, C, HH, WW = W.shape
    dout_t = _batch_last(dout)  # (F, H_out, W_out, N), ordered as the columns
    dW_t = np.zeros((C * HH * WW, F), dtype=np.result_type(dout, x))  # dW^T
    for rows, cols in _column_slices(_windows(x, HH, WW, stride, padding)):
        dW_t += cols @ dout_t[:, rows].reshape(F, -1).T
    dout_mat = dout_t.reshape(F, -1)
    dx, db = _dx_and_db(dout_mat, x.shape, W, stride, padding, input_grad, bias_grad)
    return dx, dW_t.T.reshape(W.shape), db


KEEP_COLUMNS_FROM = 16  # Conv2D keeps its im2col matrix from this many filters on


def _pair(k, name):
    """An int k means k x k; a pair (HH, WW) is kept."""
    HH, WW = (k, k) if np.isscalar(k) else tuple(k)
    if HH < 1 or WW < 1:
        raise ValueError(f"{name}: kernel_size must be >= 1, got {k!r}")
    return int(HH), int(WW)


class Conv2D(Layer):
    """A convolutional layer (cross-correlation, as in PyTorch). Introduced in Chapter 6.

    Args:
        in_channels: C, channels of the input.
        out_channels: F, the number of filters.
        kernel_size: HH = WW = kernel_size, or a pair (HH, WW).
        stride, padding: step between windows and zeros added on every side.
        rng: seed or ``numpy.random.Generator`` for the initial weights.
        dtype: parameter dtype (float32 by default; gradient checks use float64).
        keep_columns: keep the im2col matrix from the forward pass for the backward pass
            (``conv2d_forward_im2col``), or build it in slices, twice
            (``conv2d_forward_sliced``). The numbers are the same; only the speed
            differs. None (the default): keep it when F >= ``KEEP_COLUMNS_FROM``.

    Parameters: ``W`` of shape (F, C, HH, WW), He-initialised with standard deviation
    sqrt(2 / (C HH WW)) (each output sums C HH WW inputs), and ``b`` of shape (F,), zeros.
    Input (N, C, H, W) -> output (N, F, H_out, W_out), see ``conv_output_size``.
    """

    can_skip_input_grad = True

    def __init__(
        self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, rng=None,
        dtype=np.float32, keep_columns=None,
    ):  # fmt: skip
        super().__init__()
        HH, WW = _pair(kernel_size, "Conv2D")
        if in_channels < 1 or out_channels < 1 or stride < 1 or padding < 0:
            raise ValueError(
                f"Conv2D: need in_channels, out_channels, stride >= 1 and padding >= 0, got "
                f"({in_channels}, {out_channels}, stride={stride}, padding={padding})"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (HH, WW), stride, padding
        std = np.sqrt(2.0 / (in_channels * HH * WW))
        W = _as_rng(rng).standard_normal((out_channels, in_channels, HH, WW)) * std
        self.params = {"W": W.astype(dtype), "b": np.zeros(out_channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        if keep_columns is None:
            keep_columns = out_channels >= KEEP_COLUMNS_FROM
        self.keep_columns = bool(keep_columns)
        self._cols = None

    def __repr__(self):
        k = self.kernel_size[0] if self.kernel_size[0] == self.kernel_size[1] else self.kernel_size
        extra = "".join(
            f", {name}={value}"
            for name, value in [("stride", self.stride), ("padding", self.padding)]
            if value != (1 if name == "stride" else 0)
        )
        return f"Conv2D({self.in_channels}, {self.out_channels}, {k}{extra})"

    def output_shape(self, input_shape):
        N, _, H, W = input_shape
        HH, WW = self.kernel_size
        return (
            N,
            self.out_channels,
            conv_output_size(H, HH, self.stride, self.padding),
            conv_output_size(W, WW, self.stride, self.padding),
        )

    def _convolve(self, x, b):
        """The convolution of x with W, plus b (None: no bias), by the chosen method."""
        W, s, P = self.params["W"], self.stride, self.padding
        self._x = x
        if self.keep_columns:
            out, self._cols = conv2d_forward_im2col(x, W, b, s, P)
        else:
            out, self._cols = conv2d_forward_sliced(x, W, b, s, P), None
        return out

    def _convolve_backward(self, dout, input_grad, bias_grad):
        """(dx, dW, db) of the last ``_convolve``, by the same method."""
        W, s, P = self.params["W"], self.stride, self.padding
        if self.keep_columns:
            return conv2d_backward_im2col(
                dout, self._cols, self._x.shape, W, s, P, input_grad, bias_grad
            )
        return conv2d_backward_sliced(dout, self._x, W, s, P, input_grad, bias_grad)

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, F, H_out, W_out), by im2col and matrix products.

        out is stored batch-last: it is the product itself, viewed as (N, F, H_out, W_out).
        """
        _check_input(repr(self), x, self.in_channels, *self.kernel_size, self.padding)
        return self._convolve(x, self.params["b"])

    def backward(self, dout, input_grad=True):
        """dout: (N, F, H_out, W_out) -> dx: (N, C, H, W). Fills grads["W"], grads["b"].

        ``input_grad=False`` skips dx and returns None: a network's first layer never
        needs it.
        """
        self._check_dout(dout)
        dx, dW, db = self._convolve_backward(dout, input_grad, bias_grad=True)
        self.grads["W"][...] = dW
        self.grads["b"][...] = db
        return dx


class MaxPool2D(Layer):
    """Max over k x k windows of every channel. Introduced in Chapter 6.

    Args:
        kernel_size: k (windows are k x k).
        stride: step between windows; defaults to k (windows tile the image). A stride
            below k gives overlapping windows.

    Input (N, C, H, W) -> output (N, C, H_out, W_out). The gradient goes to the position
    of each window's maximum (the first one, in row-major order, if there is a tie, as in
    PyTorch). When the windows tile the image exactly, backward writes all of dx in one
    pass instead of adding into zeros.
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        k, k2 = _pair(kernel_size, "MaxPool2D")
        if k != k2:
            raise ValueError(f"MaxPool2D: only square windows, got kernel_size={kernel_size!r}")
        if stride is not None and stride < 1:
            raise ValueError(f"MaxPool2D: stride must be >= 1, got {stride!r}")
        self.kernel_size = k
        self.stride = k if stride is None else stride
        self._out = None

    def __repr__(self):
        stride = "" if self.stride == self.kernel_size else f", stride={self.stride}"
        return f"MaxPool2D({self.kernel_size}{stride})"

    def output_shape(self, input_shape):
        N, C, H, W = input_shape
        k, s = self.kernel_size, self.stride
        return (N, C, conv_output_size(H, k, s), conv_output_size(W, k, s))

    def _tiles(self, shape):
        """True when the windows tile the input exactly: stride == k, k divides H and W."""
        k = self.kernel_size
        return self.stride == k and shape[2] % k == 0 and shape[3] % k == 0

    def _windows(self, a, H_out, W_out):
        """Yield the view of ``a`` holding element (p, q) of every window, p, q < k."""
        k, s = self.kernel_size, self.stride
        for p in range(k):
            for q in range(k):
                yield a[:, :, p : p + s * H_out : s, q : q + s * W_out : s]

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, C, H_out, W_out)."""
        k = self.kernel_size
        _check_input(repr(self), x, None, k, k, 0)
        # A running maximum over the k * k offsets of a window, each a strided view of x.
        # (Measured with NumPy 2.4 on a (64, 6, 28, 28) batch: 0.16 ms, against 5.3 ms for
        # x.reshape(N, C, H // k, k, W // k, k).max(axis=(3, 5)), slow at small axes.)
        _, _, H_out, W_out = self.output_shape(x.shape)
        views = self._windows(x, H_out, W_out)
        out = next(views).copy(order="K")  # stored like x (batch-last after a Conv2D)
        for view in views:
            np.maximum(out, view, out=out)
        self._x, self._out = x, out
        return out

    def backward(self, dout):
        """dout: (N, C, H_out, W_out) -> dx: (N, C, H, W); dout goes to each window's max."""
        self._check_dout(dout)
        if self._tiles(self._x.shape):
            return self._backward_tiles(dout)
        # Overlapping or ragged windows: route dout one window offset (p, q) at a time.
        dx = np.zeros_like(self._x)
        remaining = dout.copy(order="K")  # the part of dout not yet routed to a maximum
        H_out, W_out = dout.shape[2:]
        windows = list(zip(self._windows(self._x, H_out, W_out), self._windows(dx, H_out, W_out)))
        for x_view, dx_view in windows[:-1]:
            routed = remaining * (x_view == self._out)
            dx_view += routed  # overlapping windows add up
            remaining -= routed  # routed entries drop to 0: a tie's later maxima get nothing
        # Where no earlier offset held the maximum, the last one does: it gets the rest.
        windows[-1][1][...] += remaining
        return dx

    def _backward_tiles(self, dout):
        """``backward`` for windows that tile the image, writing dx in one pass.

        Splitting H into (H // k, k) and W into (W // k, k) turns x into an array of
        windows, [n, c, i, p, j, q] being element (p, q) of window (i, j): a view, no copy.
        Against the window's maximum it gives a mask of where the maxima are; ties keep only
        the first, and dx is dout times the mask. (Measured on LeNet's first pooling in a
        training step: 0.62 ms, against 0.75 ms routing one window offset at a time.)
        """
        k = self.kernel_size
        N, C, H, W = self._x.shape
        windows = (N, C, H // k, k, W // k, k)
        x = self._x.reshape(windows)
        is_max = np.equal(x, self._out.reshape(N, C, H // k, 1, W // k, 1))
        marks = [is_max[:, :, :, p, :, q] for p in range(k) for q in range(k)]  # row-major
        seen = marks[0].copy(order="K")
        for mark in marks[1:]:
            np.greater(mark, seen, out=mark)  # a maximum, and none earlier in the window
            seen |= mark
        dx = np.empty_like(self._x)  # stored like x
        dout = dout.reshape(N, C, H // k, 1, W // k, 1)
        np.multiply(dout, is_max, out=dx.reshape(windows))
        return dx


class ConvReLUPool(Conv2D):
    """``Conv2D``, then ``ReLU``, then ``MaxPool2D(pool)``, as one layer.

    Introduced in Chapter 6. The same function and the same gradients as the three layers,
    computed in a cheaper order: it pools the convolution's output first, then adds the
    bias and applies ReLU to the pool * pool times smaller result. Nothing changes,
    because the bias is the same over a window and ReLU never decreases: the window's
    maximum stays the maximum. Chapter 6 times it against the three layers, and the speed
    page trains LeNet both ways.

    Args: those of ``Conv2D``, plus ``pool``, the size of the (non-overlapping) pooling
    windows. Parameters: ``W`` and ``b``, exactly as in ``Conv2D``; with the same ``rng``,
    the same initial values.
    Input (N, C, H, W) -> output (N, F, H_out // pool, W_out // pool).
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, *, pool=2, stride=1, padding=0,
        rng=None, dtype=np.float32, keep_columns=None,
    ):  # fmt: skip
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, rng=rng,
            dtype=dtype, keep_columns=keep_columns,
        )  # fmt: skip
        self.pooling = MaxPool2D(pool)

    def __repr__(self):
        return super().__repr__().replace("Conv2D(", "ConvReLUPool(")[:-1] + (
            f", pool={self.pooling.kernel_size})"
        )

    def output_shape(self, input_shape):
        return self.pooling.output_shape(super().output_shape(input_shape))

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> relu(maxpool(conv(x) without bias) + b)."""
        _check_input(repr(self), x, self.in_channels, *self.kernel_size, self.padding)
        z = self._convolve(x, None)  # no bias yet
        pooled = self.pooling.forward(z)  # kept by the pooling for its backward
        out = np.add(pooled, self.params["b"][:, None, None])
        np.maximum(out, 0, out=out)
        self._out = out
        return out

    def backward(self, dout, input_grad=True):
        """dout: dL/d(output) -> dx: (N, C, H, W). Fills grads["W"], grads["b"].

        Backward through ReLU (on the small array), then the pooling, to each window's
        maximum, then the convolution; db is the sum of what reaches the convolution.
        """
        self._check_dout(dout)
        dpooled = np.greater(self._out, 0, out=np.empty_like(dout))
        dpooled *= dout
        dz = self.pooling.backward(dpooled)
        dx, dW, _ = self._convolve_backward(dz, input_grad, bias_grad=False)
        self.grads["W"][...] = dW
        # db: the bias was added after pooling, so its gradient sums dpooled, pool * pool
        # times smaller than dz (whose entries are those of dpooled, each once, and zeros).
        dpooled_mat = _batch_last(dpooled).reshape(self.out_channels, -1)
        np.add.reduce(dpooled_mat, axis=1, out=self.grads["b"])
        return dx
