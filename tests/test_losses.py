"""nnlib.losses: gradients, PyTorch's definitions, and stability for huge logits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.losses import MSELoss, SoftmaxCrossEntropy

TOL = 1e-6
shapes = st.tuples(st.integers(1, 6), st.integers(1, 7))


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 10.0]))
def test_cross_entropy_gradient_matches_central_differences(shape, seed, scale):
    N, C = shape
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((N, C + 1)) * scale
    y = rng.integers(0, C + 1, N)
    ce = SoftmaxCrossEntropy()
    ce.forward(logits, y)
    dlogits = ce.backward()
    assert dlogits.shape == logits.shape
    num = numerical_gradient(lambda z: ce.forward(z, y), logits)
    # Entry by entry, down to what central differences resolve: a loss L is computed to a
    # few units in the last place (about 1e-15 for L = 10), and its differences over
    # 2 eps = 2e-6 then carry an absolute error up to about 1e-8. Hypothesis found logits
    # whose gradient entries are all below 1e-6, where a relative test fails for that.
    np.testing.assert_allclose(dlogits, num, rtol=TOL, atol=1e-7)
    np.testing.assert_allclose(dlogits.sum(axis=1), 0, atol=1e-12)  # softmax - onehot


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_mse_gradient_matches_central_differences(shape, seed):
    rng = np.random.default_rng(seed)
    y_hat, y = rng.standard_normal(shape), rng.standard_normal(shape)
    mse = MSELoss()
    mse.forward(y_hat, y)
    dy_hat = mse.backward()  # before the numerical gradient calls forward again
    num = numerical_gradient(lambda p: mse.forward(p, y), y_hat)
    assert rel_error(dy_hat, num) < TOL


def test_losses_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    logits, y = rng.standard_normal((7, 4)) * 5, rng.integers(0, 4, 7)
    t_logits = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(t_logits, torch.tensor(y))
    ref.backward()
    ce = SoftmaxCrossEntropy()
    assert ce.forward(logits, y) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(ce.backward(), t_logits.grad.numpy(), rtol=1e-10, atol=1e-15)
    a, b = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    t_a = torch.tensor(a, requires_grad=True)
    ref = F.mse_loss(t_a, torch.tensor(b))
    ref.backward()
    mse = MSELoss()
    assert mse.forward(a, b) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(mse.backward(), t_a.grad.numpy(), rtol=1e-12)


def test_cross_entropy_is_stable_for_logits_in_the_thousands():
    logits = np.array([[1000.0, 0.0, -1000.0], [5000.0, 5000.0, 0.0]])
    ce = SoftmaxCrossEntropy()
    loss = ce.forward(logits, np.array([0, 2]))
    # Row 1 is certain and right (loss 0); row 2 puts 5000 + log 2 on the wrong class.
    assert loss == pytest.approx((5000.0 + np.log(2)) / 2, rel=1e-12)
    grad = ce.backward()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0, 0, 0], [0.25, 0.25, -0.5]], atol=1e-12)
    ce32 = SoftmaxCrossEntropy().forward(np.float32(3000) * np.eye(3, dtype=np.float32), [0, 1, 2])
    assert ce32 == 0


def test_uniform_logits_give_log_C():
    assert SoftmaxCrossEntropy().forward(np.zeros((5, 10)), np.arange(5)) == pytest.approx(
        np.log(10)
    )


def test_mse_is_a_mean_over_all_elements():
    assert MSELoss().forward(np.zeros((2, 3)), np.ones((2, 3))) == 1.0
    assert MSELoss().forward(np.array([[1.0], [3.0]]), np.zeros((2, 1))) == 5.0


def test_backward_does_not_change_what_forward_kept():
    ce = SoftmaxCrossEntropy()
    ce.forward(np.array([[1.0, 2.0]]), np.array([1]))
    np.testing.assert_array_equal(ce.backward(), ce.backward())
