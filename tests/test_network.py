"""nnlib.network.Sequential: gradients, the flat parameter buffer, summary, save/load."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.layers import Dense, Dropout, Flatten, ReLU, Tanh
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential


def small_net(seed=0, dtype=np.float32):
    return Sequential(
        [Dense(6, 5, rng=seed, dtype=dtype), ReLU(), Dense(5, 3, rng=seed + 1, dtype=dtype)]
    )


@settings(max_examples=5, deadline=None)
@given(
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(2, 4)),
    seed=st.integers(0, 2**16),
)
def test_network_gradients_match_central_differences(sizes, seed):
    N, D, H, C = sizes
    rng = np.random.default_rng(seed)
    model = Sequential(
        [
            Flatten(),
            Dense(D * 2, H, rng=rng, dtype=np.float64),
            Tanh(),
            Dense(H, H, rng=rng, dtype=np.float64),
            ReLU(),
            Dense(H, C, rng=rng, dtype=np.float64),
        ]
    )
    X, y = rng.standard_normal((N, D, 2)), rng.integers(0, C, N)
    ce = SoftmaxCrossEntropy()
    ce.forward(model.forward(X), y)
    dX = model.backward(ce.backward())
    analytic = model.flat_grads.copy()

    def loss(_):
        return ce.forward(model.forward(X), y)

    assert rel_error(dX, numerical_gradient(loss, X)) < 1e-6
    assert rel_error(analytic, numerical_gradient(loss, model.flat_params)) < 1e-6


def test_parameters_share_one_flat_buffer():
    model = Sequential([Dense(3, 2, rng=0), ReLU(), Dense(2, 1, rng=1)])
    params, grads = model.params(), model.grads()
    assert list(params) == ["0.W", "0.b", "2.W", "2.b"] == list(grads)
    assert model.flat_params.shape == model.flat_grads.shape == (3 * 2 + 2 + 2 * 1 + 1,)
    assert model.flat_params.dtype == np.float32
    for key in params:
        assert np.shares_memory(params[key], model.flat_params)
        assert np.shares_memory(grads[key], model.flat_grads)
        assert params[key].shape == grads[key].shape
    model.flat_params[:] = 0  # one vectorised update reaches every layer
    assert not model.layers[0].params["W"].any()
    model.forward(np.ones((4, 3), np.float32))
    model.backward(np.ones((4, 1), np.float32))
    assert model.flat_grads[-1] == 4  # db of the last layer: the sum of dout


def test_initial_weights_survive_the_move_into_the_flat_buffer():
    dense = Dense(4, 3, rng=5)
    W = dense.params["W"].copy()
    Sequential([dense])
    np.testing.assert_array_equal(dense.params["W"], W)


def test_predict_equals_forward_in_eval_mode_batch_by_batch():
    model = Sequential([Dense(6, 8, rng=0), ReLU(), Dropout(0.5, rng=0), Dense(8, 3, rng=1)])
    X = np.random.default_rng(0).standard_normal((25, 6)).astype(np.float32)
    np.testing.assert_allclose(model.predict(X, batch_size=7), model.forward(X), rtol=1e-6)
    assert not np.allclose(model.forward(X, training=True), model.forward(X))


def test_summary_lists_layers_shapes_and_counts(capsys):
    model = Sequential([Flatten(), Dense(784, 32), ReLU(), Dense(32, 10)])
    text = model.summary((1, 28, 28))
    assert "Flatten()" in text and "Dense(784, 32)" in text and "ReLU()" in text
    assert "(None, 784)" in text and "(None, 32)" in text and "(None, 10)" in text
    assert "25,120" in text and "330" in text and "Total parameters: 25,450" in text
    assert text in capsys.readouterr().out


def test_save_and_load_round_trip_exactly(tmp_path):
    model = small_net(0)
    model.save(tmp_path / "m.npz")
    other = small_net(7).load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other.flat_params, model.flat_params)
    for key, p in model.params().items():
        np.testing.assert_array_equal(other.params()[key], p)
        assert other.params()[key].dtype == p.dtype
    X = np.ones((2, 6), np.float32)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    model.save(tmp_path / "no_suffix")  # NumPy writes no_suffix.npz; load finds it
    small_net(9).load(tmp_path / "no_suffix")


def test_saved_file_is_plain_arrays(tmp_path):
    small_net().save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["0.W", "0.b", "2.W", "2.b"]


def test_load_into_a_different_architecture_names_the_shape(tmp_path):
    small_net().save(tmp_path / "m.npz")
    wrong = Sequential([Dense(6, 4), ReLU(), Dense(4, 3)])
    with pytest.raises(
        ValueError, match=r"'0.W' has shape \(6, 5\) in .*this network's has shape \(6, 4\)"
    ):
        wrong.load(tmp_path / "m.npz")
    deeper = Sequential([Dense(6, 5), ReLU(), Dense(5, 3), ReLU(), Dense(3, 3)])
    with pytest.raises(ValueError, match=r"missing \['4.W', '4.b'\], unexpected \[\]"):
        deeper.load(tmp_path / "m.npz")


def test_load_refuses_pickled_objects(tmp_path):
    arrays = {"0.W": np.array([[object()]], dtype=object), "0.b": np.zeros(1, np.float32)}
    np.savez(tmp_path / "evil.npz", **arrays)
    model = Sequential([Dense(1, 1)])
    with pytest.raises(ValueError, match="allow_pickle"):
        model.load(tmp_path / "evil.npz")


def test_an_empty_network_is_refused():
    with pytest.raises(ValueError, match="Sequential: needs at least one layer"):
        Sequential([])


def test_backward_without_the_input_gradient_fills_the_same_grads():
    model = Sequential([Dense(6, 5, rng=0), ReLU(), Dense(5, 3, rng=1)])
    X = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    dout = np.ones((4, 3), np.float32)
    model.forward(X)
    assert model.backward(dout).shape == X.shape
    full = model.flat_grads.copy()
    model.flat_grads[:] = 0
    model.forward(X)
    assert model.backward(dout, input_grad=False) is None
    np.testing.assert_array_equal(model.flat_grads, full)
