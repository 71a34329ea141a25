"""Convolution and pooling, arranged for speed. The maths is ``nnlib.conv``'s.

Three choices make the layers fast without changing the maths (the speed page measures
each):

- Storage order. The arrays these functions return have the shape (N, C, H, W), but in
  memory the image index n varies fastest, as if stored (C, H, W, N): "batch-last". That
  is the order the matrix product produces, so a convolution returns it without a copy,
  max pooling keeps it, and the next convolution reads it without a copy. Indexing,
  shapes and values are those of any (N, C, H, W) array; only ``x.strides`` differs.
- Conv-ReLU-pool fused: ``conv_relu_pool_forward`` pools the convolution's output first,
  then adds the bias and applies ReLU on the pool * pool times smaller result. The same
  function: the bias is the same over a window and ReLU never decreases, so the window's
  maximum stays the maximum.
- Columns in slices, for layers with few filters. With F filters the product does only
  2F multiply-adds per number of the im2col matrix, so for F = 6 (LeNet's first layer)
  its time goes to writing the matrix to memory and reading it back.
  ``conv2d_forward_sliced`` builds the columns of a few output rows at a time in a small
  buffer and multiplies them while they are in the cache; the backward pass builds each
  slice again instead of keeping the matrix. Used below ``KEEP_COLUMNS_FROM`` filters.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..conv import conv_output_size

KEEP_COLUMNS_FROM = 16  # keep the im2col matrix from this many filters on; else slices
SLICE = 4096  # im2col columns per slice in conv2d_forward_sliced / backward_sliced


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
    N, _, H, Wd = x.shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(Wd, WW, stride, padding)
    cols = im2col(x, HH, WW, stride, padding)
    out = W.reshape(F, -1) @ cols  # (F, H_out W_out N)
    if b is not None:  # the fused step adds its bias after pooling
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
    windows = _windows(x, HH, WW, stride, padding)  # (C, HH, WW, H_out, W_out, N)
    _, _, _, H_out, W_out, N = windows.shape
    W_mat = W.reshape(F, -1)
    out = np.empty((F, H_out, W_out, N), dtype=np.result_type(x, W))
    for rows, cols in _column_slices(windows):
        np.matmul(W_mat, cols, out=out[:, rows].reshape(F, -1))
    if b is not None:  # the fused step adds its bias after pooling
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


def conv2d_forward(x, W, b, stride, padding):
    """The convolution, by the faster method for W's filter count. Returns (out, cache)."""
    if W.shape[0] >= KEEP_COLUMNS_FROM:
        return conv2d_forward_im2col(x, W, b, stride, padding)
    return conv2d_forward_sliced(x, W, b, stride, padding), None


def conv2d_backward(dout, x, cols, W, stride, padding, input_grad, bias_grad=True):
    """(dx, dW, db) of ``conv2d_forward``'s convolution, cols being its cache."""
    if cols is not None:
        return conv2d_backward_im2col(dout, cols, x.shape, W, stride, padding, input_grad,
                                      bias_grad)  # fmt: skip
    return conv2d_backward_sliced(dout, x, W, stride, padding, input_grad, bias_grad)


def maxpool_windows(a, k, s, H_out, W_out):
    """Yield the view of ``a`` holding element (p, q) of every k x k window."""
    for p in range(k):
        for q in range(k):
            yield a[:, :, p : p + s * H_out : s, q : q + s * W_out : s]


def maxpool_forward(x, k, s):
    """Max over k x k windows, stride s: a running maximum over the k * k offsets.

    The output is stored like x (batch-last after a convolution).
    """
    H_out, W_out = conv_output_size(x.shape[2], k, s), conv_output_size(x.shape[3], k, s)
    views = maxpool_windows(x, k, s, H_out, W_out)
    out = next(views).copy(order="K")
    for view in views:
        np.maximum(out, view, out=out)
    return out


def maxpool_tiles(shape, k, s):
    """True when the windows tile the input exactly: stride == k, k divides H and W."""
    return s == k and shape[2] % k == 0 and shape[3] % k == 0


def maxpool_backward_tiles(dout, x, out, k):
    """Max pooling's backward pass for windows that tile the image, in one pass.

    Splitting H into (H // k, k) and W into (W // k, k) turns x into an array of windows,
    [n, c, i, p, j, q] being element (p, q) of window (i, j), without a copy. Against the
    window's maximum it gives a mask of the maxima, and dx is dout where the mask is set.
    The mask follows ``nnlib.conv.MaxPool2D._argmax``'s rule (PyTorch's): of tied maxima
    only the first in row-major order; in a window holding NaN (its maximum is NaN, equal
    to nothing), its last NaN.

    dx is dout times the 0/1 mask, plus 0.0: the readable layer's numbers bit for bit
    (dout * 0 may be -0.0, and -0.0 + 0.0 is 0.0), and faster than a masked copy
    (``np.copyto(..., where=mask)``; the speed page measures it). A product would turn an
    infinite or NaN dout into NaN outside the maxima, so such a dout takes the masked copy.
    A dout stored in another memory order than x is copied into x's order first.
    """
    N, C, H, W = x.shape
    windows = (N, C, H // k, k, W // k, k)
    xw = x.reshape(windows)  # a view: x is contiguous in one of two orders
    is_max = np.equal(xw, out.reshape(N, C, H // k, 1, W // k, 1))
    marks = [is_max[:, :, :, p, :, q] for p in range(k) for q in range(k)]  # row-major
    _keep_first(marks)
    if np.isnan(out).any():  # checked on the small output: rare, and a pass over x
        is_nan = np.isnan(xw)
        _keep_first([is_nan[:, :, :, p, :, q] for p in range(k) for q in range(k)][::-1])
        is_max |= is_nan  # NaN windows have no other mark
    if np.argsort(dout.strides).tolist() != np.argsort(out.strides).tolist():
        dout = _stored_like(out, dout)  # else the product reads dout across its memory order
    dout_w = dout.reshape(N, C, H // k, 1, W // k, 1)
    dx = np.empty_like(x, dtype=dout.dtype)  # stored like x
    if np.isfinite(dout).all():
        np.multiply(dout_w, is_max, out=dx.reshape(windows))
        dx += 0.0
    else:
        dx[...] = 0
        np.copyto(dx.reshape(windows), dout_w, where=is_max)
    return dx


def _stored_like(a, b):
    """b's numbers in an array stored in a's memory order (a and b of one shape)."""
    out = np.empty_like(a, dtype=b.dtype)
    out[...] = b
    return out


def _keep_first(marks):
    """Of boolean arrays marks[0], marks[1], ..., keep (in place) each entry's first True."""
    seen = marks[0].copy(order="K")
    for mark in marks[1:]:
        np.greater(mark, seen, out=mark)  # marked, and none earlier
        seen |= mark
