"""Convolution and pooling for images. Introduced in Chapter 6.

Images are NCHW: N images, C channels, H rows, W columns. A filter bank ``W`` has shape
(F, C, HH, WW): F filters, each HH x WW over all C channels. Like every deep-learning
library, "convolution" here computes a cross-correlation (the kernel is not flipped).

The same maths twice, tested equal:

- ``conv2d_forward_naive`` / ``conv2d_backward_naive``: loops over output positions, the
  derivation of Chapter 6 line by line. Slow, and meant to be read.
- ``im2col`` / ``col2im``: a loop over the HH * WW kernel offsets copies every receptive
  field into a column, so that the whole layer is one matrix product; ``col2im``, its
  adjoint, adds the columns' gradients back onto the image. ``Conv2D`` uses these.

A network (``Sequential``) may run these layers through ``nnlib._engine.conv`` instead:
the same numbers, arranged in memory for speed (the speed page explains how).
"""

import numpy as np

from ._checks import as_rng, check_dtype, check_size
from .layers import Layer

__all__ = [
    "conv_output_size",
    "conv2d_forward_naive",
    "conv2d_backward_naive",
    "im2col",
    "col2im",
    "Conv2D",
    "MaxPool2D",
]


def conv_output_size(size, kernel, stride=1, padding=0):
    """Output length along one axis: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def _pad(x, padding):
    """Zero-pad the two spatial axes of an (N, C, H, W) array by ``padding`` on each side."""
    P = padding
    return np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))) if P else x


def conv2d_forward_naive(x, W, b, stride=1, padding=0):
    """Cross-correlation by loops over output positions (slow; the derivation).

    x: (N, C, H, W); W: (F, C, HH, WW); b: (F,). Returns out: (N, F, H_out, W_out) with
    out[n, f, i, j] = sum over c, p, q of xp[n, c, i s + p, j s + q] W[f, c, p, q] + b[f],
    where xp is x zero-padded and s the stride.
    """
    F, C, HH, WW = W.shape
    _check_input("conv2d_forward_naive", x.shape, C, HH, WW, padding)
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


def im2col(x, HH, WW, stride=1, padding=0):
    """Copy every HH x WW receptive field of x into a column of one matrix.

    x: (N, C, H, W). Returns cols of shape (C * HH * WW, N * H_out * W_out): column
    (n, i, j) holds the window of output position (i, j) of image n, and row (c, p, q)
    holds pixel (p, q) of channel c of every window: cols[(c, p, q), (n, i, j)] =
    xp[n, c, i s + p, j s + q]. One loop over the kernel offsets (p, q) copies, for each,
    that pixel of every window at once (a strided slice of the padded image).
    """
    N, C, H, W = x.shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(W, WW, stride, padding)
    xp = _pad(x, padding)
    cols = np.empty((C, HH, WW, N, H_out, W_out), dtype=x.dtype)
    for p in range(HH):
        for q in range(WW):
            window_pixels = xp[
                :, :, p : p + stride * H_out : stride, q : q + stride * W_out : stride
            ]
            cols[:, p, q] = window_pixels.transpose(1, 0, 2, 3)  # (C, N, H_out, W_out)
    return cols.reshape(C * HH * WW, N * H_out * W_out)


def col2im(dcols, x_shape, HH, WW, stride=1, padding=0):
    """The adjoint of ``im2col``: add every column back onto the window it came from.

    dcols: (C * HH * WW, N * H_out * W_out), shaped like im2col's output;
    x_shape: (N, C, H, W). Returns dx of shape x_shape. Where windows overlap
    (stride < kernel) their contributions add up, as the chain rule demands.
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, stride, padding)
    W_out = conv_output_size(W, WW, stride, padding)
    dcols = dcols.reshape(C, HH, WW, N, H_out, W_out)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dcols.dtype)
    for p in range(HH):
        for q in range(WW):
            window_pixels = dxp[
                :, :, p : p + stride * H_out : stride, q : q + stride * W_out : stride
            ]
            window_pixels += dcols[:, p, q].transpose(1, 0, 2, 3)  # (N, C, H_out, W_out)
    return dxp[:, :, padding : padding + H, padding : padding + W]


def _check_input(name, shape, channels, HH, WW, padding):
    """Raise a ValueError naming the layer unless shape is (N, channels, H, W), big enough."""
    C = "C" if channels is None else channels
    if len(shape) != 4:
        raise ValueError(f"{name}: expected input of shape (N, {C}, H, W), got {shape}")
    if channels is not None and shape[1] != channels:
        raise ValueError(
            f"{name}: expected {channels} input channels, shape (N, {channels}, H, W), got {shape}"
        )
    H, W = shape[2] + 2 * padding, shape[3] + 2 * padding
    if H < HH or W < WW:
        raise ValueError(
            f"{name}: input of shape {shape} is {H}x{W} after padding {padding}, "
            f"smaller than the {HH}x{WW} kernel"
        )


def _pair(k, name):
    """An int k means k x k; a pair (HH, WW) is kept. Both must be whole numbers >= 1."""
    pair = tuple(k) if isinstance(k, (tuple, list)) else (k, k)
    if len(pair) != 2:
        raise ValueError(f"{name}: kernel_size must be an integer or a pair, got {k!r}")
    HH, WW = pair
    check_size(name, kernel_size=HH)
    check_size(name, kernel_size=WW)
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

    Parameters: ``W`` of shape (F, C, HH, WW), He-initialised with standard deviation
    sqrt(2 / (C HH WW)) (each output sums C HH WW inputs), and ``b`` of shape (F,), zeros.
    Input (N, C, H, W) -> output (N, F, H_out, W_out), see ``conv_output_size``.
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, rng=None,
        dtype=np.float32,
    ):  # fmt: skip
        super().__init__()
        HH, WW = _pair(kernel_size, "Conv2D")
        check_size("Conv2D", in_channels=in_channels, out_channels=out_channels, stride=stride)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"Conv2D: padding must be an integer >= 0, got {padding!r}")
        dtype = check_dtype("Conv2D", dtype)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (HH, WW), int(stride), int(padding)
        W = as_rng("Conv2D", rng).standard_normal((out_channels, in_channels, HH, WW))
        W *= np.sqrt(2.0 / (in_channels * HH * WW))
        self.params = {"W": W.astype(dtype), "b": np.zeros(out_channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self):
        k = self.kernel_size[0] if self.kernel_size[0] == self.kernel_size[1] else self.kernel_size
        extra = "".join(
            f", {name}={value}"
            for name, value in [("stride", self.stride), ("padding", self.padding)]
            if value != (1 if name == "stride" else 0)
        )
        return f"Conv2D({self.in_channels}, {self.out_channels}, {k}{extra})"

    def output_shape(self, input_shape):
        _check_input(repr(self), input_shape, self.in_channels, *self.kernel_size, self.padding)
        N, _, H, W = input_shape
        HH, WW = self.kernel_size
        return (
            N,
            self.out_channels,
            conv_output_size(H, HH, self.stride, self.padding),
            conv_output_size(W, WW, self.stride, self.padding),
        )

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, F, H_out, W_out), as one matrix product.

        out (F, N H_out W_out) = W reshaped to (F, C HH WW) @ im2col(x) + b, then put back
        into image shape.
        """
        x = self._check_input(x)  # an array of shape (N, C, H, W), or an error saying why not
        N, F, H_out, W_out = self.output_shape(x.shape)
        HH, WW = self.kernel_size
        self._x = x
        self._cols = im2col(x, HH, WW, self.stride, self.padding)
        out = self.params["W"].reshape(F, -1) @ self._cols + self.params["b"][:, None]
        return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)

    def backward(self, dout):
        """dout: (N, F, H_out, W_out) -> dx: (N, C, H, W). Fills grads["W"], grads["b"].

        With dout as a matrix (F, N H_out W_out), ordered like the columns, this is the
        dense layer's rule: dW = dout cols^T, db = the sum over columns, and
        dcols = W^T dout, which col2im adds back onto the image.
        """
        dout = self._check_dout(dout)
        F = self.out_channels
        W_mat = self.params["W"].reshape(F, -1)
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)
        self.grads["W"][...] = (dout_mat @ self._cols.T).reshape(self.params["W"].shape)
        self.grads["b"][...] = dout_mat.sum(axis=1)
        dcols = W_mat.T @ dout_mat
        return col2im(dcols, self._x.shape, *self.kernel_size, self.stride, self.padding)


class MaxPool2D(Layer):
    """Max over k x k windows of every channel. Introduced in Chapter 6.

    Args:
        kernel_size: k (windows are k x k).
        stride: step between windows; defaults to k (windows tile the image). A stride
            below k gives overlapping windows.

    Input (N, C, H, W) -> output (N, C, H_out, W_out). The gradient goes to the position
    of each window's maximum, as in PyTorch: the first one, in row-major order, if there
    is a tie, and the last NaN if the window holds NaN (its maximum is NaN then).
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        k, k2 = _pair(kernel_size, "MaxPool2D")
        if k != k2:
            raise ValueError(f"MaxPool2D: only square windows, got kernel_size={kernel_size!r}")
        if stride is not None:
            check_size("MaxPool2D", stride=stride)
        self.kernel_size = k
        self.stride = k if stride is None else int(stride)

    def __repr__(self):
        stride = "" if self.stride == self.kernel_size else f", stride={self.stride}"
        return f"MaxPool2D({self.kernel_size}{stride})"

    def output_shape(self, input_shape):
        k, s = self.kernel_size, self.stride
        _check_input(repr(self), input_shape, None, k, k, 0)
        N, C, H, W = input_shape
        return (N, C, conv_output_size(H, k, s), conv_output_size(W, k, s))

    def _window_pixels(self, a, H_out, W_out):
        """Yield, for each offset (p, q) in the window, pixel (p, q) of every window of a."""
        k, s = self.kernel_size, self.stride
        for p in range(k):
            for q in range(k):
                yield a[:, :, p : p + s * H_out : s, q : q + s * W_out : s]

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, C, H_out, W_out), a running maximum over offsets."""
        x = self._check_input(x)
        _, _, H_out, W_out = self.output_shape(x.shape)
        pixels = self._window_pixels(x, H_out, W_out)
        out = next(pixels).copy()
        for pixel in pixels:
            out = np.maximum(out, pixel)  # NaN if either is NaN
        self._x = x
        return out

    def backward(self, dout):
        """dout: (N, C, H_out, W_out) -> dx: (N, C, H, W); dout goes to each window's max.

        Overlapping windows add into dx. Which pixel is the maximum is ``_argmax``'s rule.
        """
        dout = self._check_dout(dout)
        H_out, W_out = dout.shape[2:]
        argmax = self._argmax(H_out, W_out)
        dx = np.zeros_like(self._x, dtype=dout.dtype)
        for offset, dx_pixel in enumerate(self._window_pixels(dx, H_out, W_out)):
            dx_pixel += np.where(argmax == offset, dout, 0)
        return dx

    def _argmax(self, H_out, W_out):
        """For each window, the offset (p * k + q) of the pixel that forward's max came from.

        PyTorch's rule: offsets are visited in row-major order, and a later pixel takes
        over only if it is larger, so a tie goes to the first maximum; but NaN always takes
        over (the window's max is NaN then), so a window holding NaN picks its last NaN.
        """
        pixels = self._window_pixels(self._x, H_out, W_out)
        best = next(pixels)
        argmax = np.zeros(best.shape, dtype=np.intp)
        for offset, pixel in enumerate(pixels, start=1):
            takes_over = (pixel > best) | np.isnan(pixel)
            best = np.where(takes_over, pixel, best)
            argmax[takes_over] = offset
        return argmax
