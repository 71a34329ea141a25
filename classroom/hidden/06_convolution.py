"""Hidden tests for Chapter 6's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_6_1():
    for HH, S, P in [(5, 4, 0), (7, 2, 3), (1, 1, 0), (3, 5, 2), (6, 3, 4), (3, 3, 2)]:
        for H_out in range(1, 10):
            brute = [
                H
                for H in range(1, 80)
                if H + 2 * P >= HH and conv_output_size(H, HH, S, P) == H_out
            ]
            assert list(input_heights(H_out, HH, S, P)) == brute, (H_out, HH, S, P)


def test_6_2():
    rng = np.random.default_rng(6201)
    for k, S, shape in [
        (3, 3, (1, 2, 9, 6)),
        (4, 1, (2, 1, 7, 9)),
        (3, 2, (1, 3, 10, 5)),
        (2, 3, (1, 1, 8, 8)),
    ]:
        x = rng.standard_normal(shape)
        out = avg_pool_forward(x, k, S)
        assert out.shape == shape[:2] + (
            conv_output_size(shape[2], k, S),
            conv_output_size(shape[3], k, S),
        )
        ref = np.zeros(out.shape)
        for n, c, i, j in np.ndindex(ref.shape):  # every window, from the definition
            ref[n, c, i, j] = x[n, c, i * S : i * S + k, j * S : j * S + k].mean()
        assert np.allclose(out, ref), (k, S)
        dout = rng.standard_normal(out.shape)
        num = numerical_gradient(
            lambda v, k=k, S=S, d=dout: np.sum(avg_pool_forward(v, k, S) * d), x
        )
        assert rel_error(avg_pool_backward(dout, shape, k, S), num) < 1e-7, (k, S)


def test_6_3():
    rng = np.random.default_rng(6301)

    def spread(W, G):  # the dilated kernel as an ordinary one: G - 1 zeros between taps
        F, C, HH, WW = W.shape
        K = np.zeros((F, C, G * (HH - 1) + 1, G * (WW - 1) + 1))
        K[:, :, ::G, ::G] = W
        return K

    for G, shape, k in [
        (1, (3, 2, 6, 8), (2, 4)),
        (2, (3, 2, 9, 10), (2, 4)),
        (3, (2, 2, 11, 12), (3, 2)),
    ]:
        W = rng.standard_normal((5, shape[1], *k))
        conv = Conv2D(shape[1], 5, spread(W, G).shape[2:], rng=1, dtype=np.float64)
        conv.params["W"][...] = spread(W, G)
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(conv.forward(x).shape)
        _ = conv.backward(dout)  # assigned: otter echoes bare values in a loop
        dW = conv_dW_dilated(x, dout, *k, G)
        assert np.shape(dW) == (5, shape[1], *k), G
        assert rel_error(dW, conv.grads["W"][:, :, ::G, ::G]) < 1e-10, G


def test_6_4():
    rng = np.random.default_rng(6401)
    conv = Conv2D(3, 2, (2, 4), rng=2, dtype=np.float64)
    x = rng.standard_normal((3, 3, 7, 9))
    dout = rng.standard_normal(conv.forward(x).shape)
    dx = conv_dx_fixed(dout, conv.params["W"])
    assert np.shape(dx) == x.shape
    assert rel_error(dx, conv.backward(dout)) < 1e-10
    A = rng.standard_normal((2, 3, 3, 4))
    half_turn = A + A[:, :, ::-1, ::-1]
    assert bug_is_invisible(half_turn)
    assert not bug_is_invisible(A)
    assert not bug_is_invisible(A + A[:, :, :, ::-1])  # symmetric left-right only
    assert not bug_is_invisible(A + A[:, :, ::-1, :])  # symmetric up-down only
    edge = np.tile(np.array([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]), (2, 3, 1, 1))
    assert not bug_is_invisible(edge)  # unchanged by a left-right mirror, not by a half turn
    turn = np.tile(np.array([[1.0, 2, 0], [0, 5, 0], [0, 2, 1]]), (2, 3, 1, 1))
    assert bug_is_invisible(turn)  # unchanged by a half turn, by neither mirror
    mixed = half_turn.copy()
    mixed[1, 2] = A[1, 2]  # one kernel of the bank is not symmetric
    assert not bug_is_invisible(mixed)
    # W[1] is W[0] turned by 180 degrees: flipping all four axes leaves the bank unchanged,
    # a half turn leaves neither kernel unchanged.
    pair = np.stack([A[0, :1], A[0, :1, ::-1, ::-1]])
    assert not bug_is_invisible(pair)


def test_6_5():
    for H, W, HH, WW, S, P in [(9, 4, 3, 2, 1, 2), (11, 10, 5, 3, 3, 1), (5, 5, 5, 5, 1, 0)]:
        ones = np.ones((1, 1, H, W))
        expected = col2im(im2col(ones, HH, WW, S, P), ones.shape, HH, WW, S, P)[0, 0]
        count = window_count(H, W, HH, WW, S, P)
        assert np.shape(count) == (H, W)
        assert np.array_equal(count, expected), (H, W, HH, WW, S, P)


def test_6_6():
    rng = np.random.default_rng(6601)

    def spread(W, G):  # the dilated kernel as an ordinary one: G - 1 zeros between taps
        F, C, HH, WW = W.shape
        K = np.zeros((F, C, G * (HH - 1) + 1, G * (WW - 1) + 1))
        K[:, :, ::G, ::G] = W
        return K

    cases = [
        (2, (2, 2, 11, 6), (3, 2)),
        (4, (1, 3, 9, 13), (2, 3)),
        (1, (2, 1, 5, 5), (3, 3)),
        (2, (1, 1, 3, 3), (2, 2)),
    ]
    for G, shape, k in cases:
        W = rng.standard_normal((3, shape[1], *k))
        conv = Conv2D(shape[1], 3, spread(W, G).shape[2:], rng=3, dtype=np.float64)
        conv.params["W"][...] = spread(W, G)
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(conv.forward(x).shape)
        dx = conv_dx_dilated(dout, W, x.shape, G)
        assert np.shape(dx) == shape
        assert rel_error(dx, conv.backward(dout)) < 1e-10, G
