"""Hidden tests for Chapter 6's exercises (run inside the student's notebook by otter)."""
# ruff: noqa: F821  (the names come from the notebook)


def test_6_1():
    cases = [(28, 28, 5, 5, 1, 2), (32, 17, 3, 4, 2, 1), (7, 9, 7, 1, 3, 0), (5, 5, 2, 2, 2, 0)]
    for H, W, HH, WW, S, P in cases:
        out = Conv2D(1, 1, (HH, WW), stride=S, padding=P).forward(np.zeros((1, 1, H, W)))
        assert tuple(conv_output_shape(H, W, HH, WW, S, P)) == out.shape[2:]


def test_6_2():
    rng = np.random.default_rng(6201)
    x = rng.standard_normal((1, 2, 9, 6))
    out = avg_pool_forward(x, 3)
    assert out.shape == (1, 2, 3, 2)
    assert np.isclose(out[0, 1, 2, 1], x[0, 1, 6:9, 3:6].mean())
    dout = rng.standard_normal(out.shape)
    num = numerical_gradient(lambda v: np.sum(avg_pool_forward(v, 3) * dout), x)
    assert rel_error(avg_pool_backward(dout, 3), num) < 1e-7


def test_6_3():
    rng = np.random.default_rng(6301)
    conv = Conv2D(2, 5, (2, 4), rng=1, dtype=np.float64)
    x = rng.standard_normal((3, 2, 6, 8))
    dout = rng.standard_normal(conv.forward(x).shape)
    conv.backward(dout)
    dW = conv_dW(x, dout, 2, 4)
    assert np.shape(dW) == (5, 2, 2, 4)
    assert rel_error(dW, conv.grads["W"]) < 1e-10


def test_6_4():
    rng = np.random.default_rng(6401)
    conv = Conv2D(3, 2, (2, 4), rng=2, dtype=np.float64)
    x = rng.standard_normal((3, 3, 7, 9))
    dout = rng.standard_normal(conv.forward(x).shape)
    dx = conv_dx(dout, conv.params["W"])
    assert np.shape(dx) == x.shape
    assert rel_error(dx, conv.backward(dout)) < 1e-10


def test_6_5():
    for H, W, HH, WW, S, P in [(9, 4, 3, 2, 1, 2), (11, 10, 5, 3, 3, 1), (5, 5, 5, 5, 1, 0)]:
        ones = np.ones((1, 1, H, W))
        expected = col2im(im2col(ones, HH, WW, S, P), ones.shape, HH, WW, S, P)[0, 0]
        count = window_count(H, W, HH, WW, S, P)
        assert np.shape(count) == (H, W)
        assert np.array_equal(count, expected), (H, W, HH, WW, S, P)


def test_6_6():
    rng = np.random.default_rng(6601)
    cases = [(2, (2, 2, 11, 6), (3, 2)), (4, (1, 3, 9, 13), (2, 5)), (1, (2, 1, 5, 5), (3, 3))]
    for S, shape, k in cases:
        conv = Conv2D(shape[1], 3, k, stride=S, rng=3, dtype=np.float64)
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(conv.forward(x).shape)
        dx = conv_dx_strided(dout, conv.params["W"], x.shape, S)
        assert np.shape(dx) == shape
        assert rel_error(dx, conv.backward(dout)) < 1e-10, S
