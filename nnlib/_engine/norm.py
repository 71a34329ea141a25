"""Batch normalisation of images with each channel's numbers in one contiguous row.

``BatchNorm2d`` averages every channel over the axes N, H and W. On an (N, C, H, W) array
stored in C order, NumPy reduces those three axes with strided loops, slowly: about 140 ms
forward for a batch of 128 images of 32 channels at 28 x 28 on the machine that ran the
benchmarks. The engine's convolutions hand their outputs over stored batch-last, as
(C, H, W, N) in memory (``nnlib._engine.conv``), so each channel is already one contiguous
row of H W N numbers: a (C, H W N) matrix, seen without a copy. Over it the statistics are
row sums and row dot products (``np.einsum``, one pass each), and the output is a matrix
stored the same way. An input stored otherwise is copied into that layout once.

The formulas are the readable layer's (``nnlib.layers.BatchNorm1d``), rearranged to save
passes over memory: with xc = x - mean and s = gamma / sqrt(var + eps),

    out = s xc + beta,
    dx  = s dout - s mean(dout) - xc s mean(dout xc) / (var + eps),

which is the compact form s (dout - mean(dout) - x_hat mean(dout x_hat)) with
x_hat = xc / sqrt(var + eps). ``tests/test_engine.py`` checks them against the layer.
"""

import numpy as np


def _channel_rows(a):
    """(N, C, H, W) -> its (C, H W N) matrix: a view if stored batch-last, else a copy."""
    N, C, H, W = a.shape
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(C, H * W * N)


def _as_images(rows, shape):
    """The (C, H W N) matrix back as an (N, C, H, W) array, stored batch-last (a view)."""
    N, C, H, W = shape
    return rows.reshape(C, H, W, N).transpose(3, 0, 1, 2)


class BatchNorm2dStep:
    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training=False):
        layer = self.layer
        layer.output_shape(np.shape(x))
        rows = _channel_rows(x)
        M = rows.shape[1]  # values per channel
        if training:
            if M < 2:
                return self._readable(x, training)  # (its error message)
            mean = rows.mean(axis=1)
            xc = rows - mean[:, None]
            var = np.einsum("ij,ij->i", xc, xc) / M
            m, running = layer.momentum, layer.buffers
            running["running_mean"][...] = (1 - m) * running["running_mean"] + m * mean
            running["running_var"][...] = (1 - m) * running["running_var"] + m * var * M / (M - 1)
        else:
            var = layer.buffers["running_var"]
            xc = rows - layer.buffers["running_mean"][:, None]
        self._readable_ran = False
        self._xc, self._training, self._shape = xc, training, x.shape
        self._inv_var = 1 / (var + layer.eps)
        self._scale = layer.params["gamma"] * np.sqrt(self._inv_var)
        out = xc * self._scale[:, None]
        out += layer.params["beta"][:, None]
        return _as_images(out, x.shape)

    def _readable(self, x, training):
        self._readable_ran = True
        return self.layer.forward(x, training=training)

    def backward(self, dout, input_grad=True):
        layer = self.layer
        if self._readable_ran:
            return layer.backward(dout)
        d, xc, scale = _channel_rows(dout), self._xc, self._scale
        M = d.shape[1]
        dbeta = d.sum(axis=1)
        dout_dot_xc = np.einsum("ij,ij->i", d, xc)
        layer.grads["beta"][...] = dbeta
        layer.grads["gamma"][...] = dout_dot_xc * np.sqrt(self._inv_var)  # sum(dout x_hat)
        if not input_grad:
            return None
        dx = d * scale[:, None]
        if self._training:
            dx -= xc * (scale * self._inv_var * dout_dot_xc / M)[:, None]
            dx -= (scale * dbeta / M)[:, None]
        return _as_images(dx, self._shape)
