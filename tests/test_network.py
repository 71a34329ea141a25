"""nnlib.network.Sequential: gradients, nesting, summary, save/load (flat buffers: test_engine)."""

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
    analytic = model.grads.flat.copy()

    def loss(_):
        return ce.forward(model.forward(X), y)

    assert rel_error(dX, numerical_gradient(loss, X)) < 1e-6
    assert rel_error(analytic, numerical_gradient(loss, model.params.flat)) < 1e-6


def test_predict_equals_forward_in_eval_mode_batch_by_batch():
    model = Sequential([Dense(6, 8, rng=0), ReLU(), Dropout(0.5, rng=0), Dense(8, 3, rng=1)])
    X = np.random.default_rng(0).standard_normal((25, 6)).astype(np.float32)
    np.testing.assert_allclose(model.predict(X, batch_size=7), model.forward(X), rtol=1e-6)
    assert not np.allclose(model.forward(X, training=True), model.forward(X))


def test_summary_lists_layers_shapes_and_counts(capsys):
    model = Sequential([Flatten(), Dense(784, 32), ReLU(), Dense(32, 10)])
    text = model.summary((1, 28, 28))
    assert capsys.readouterr().out == ""  # returned, not printed: a notebook shows it once
    assert repr(text) == str(text)  # shown as the table, not as a quoted string
    assert "Flatten()" in text and "Dense(784, 32)" in text and "ReLU()" in text
    assert "(None, 784)" in text and "(None, 32)" in text and "(None, 10)" in text
    assert "25,120" in text and "330" in text and "Total parameters: 25,450" in text
    with pytest.raises(ValueError, match=r"summary, layer 1: Dense\(784, 32\): expected input of "
                       r"shape \(N, 784\), got \(1, 5\)"):  # fmt: skip
        model.summary((5,))


def test_save_and_load_round_trip_exactly(tmp_path):
    model = small_net(0)
    model.save(tmp_path / "m.npz")
    other = small_net(7).load(tmp_path / "m.npz")
    for key, p in model.params.items():
        np.testing.assert_array_equal(other.params[key], p)
        assert other.params[key].dtype == p.dtype
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
        ValueError,
        match=r"'0.W' is float32 of shape \(6, 5\) in .*network's is float32 of shape \(6, 4\)",
    ):
        wrong.load(tmp_path / "m.npz")
    deeper = Sequential([Dense(6, 5), ReLU(), Dense(5, 3), ReLU(), Dense(3, 3)])
    with pytest.raises(ValueError, match=r"missing \['4.W', '4.b'\], unexpected \[\]"):
        deeper.load(tmp_path / "m.npz")


def test_load_refuses_pickled_objects(tmp_path):
    arrays = {"0.W": np.array([[object()]], dtype=object), "0.b": np.zeros(1, np.float32)}
    np.savez(tmp_path / "evil.npz", **arrays)
    model = Sequential([Dense(1, 1)])
    with pytest.raises(ValueError, match=r"parameter '0.W' is object of shape \(1, 1\)"):
        model.load(tmp_path / "evil.npz")  # refused from its header: the data is never read


def test_an_empty_network_is_refused():
    with pytest.raises(ValueError, match="Sequential: needs at least one layer"):
        Sequential([])


def test_a_network_is_a_layer_and_nests():
    from nnlib.gradcheck import check_layer
    from nnlib.layers import Layer

    block = Sequential([Dense(4, 4, rng=0, dtype=np.float64), Tanh()])
    model = Sequential([Dense(3, 4, rng=1, dtype=np.float64), block,
                        Dense(4, 2, rng=2, dtype=np.float64)])  # fmt: skip
    assert isinstance(block, Layer)
    assert list(model.params) == ["0.W", "0.b", "1.0.W", "1.0.b", "2.W", "2.b"]
    assert model.output_shape((5, 3)) == (5, 2)
    assert check_layer(model, np.random.default_rng(0).standard_normal((5, 3))) < 1e-6
    assert "Sequential([Dense(4, 4), Tanh()])" in model.summary((3,))


def test_a_layer_used_twice_is_refused():
    relu = ReLU()
    with pytest.raises(ValueError, match=r"layer 3 \(ReLU\(\)\) is the same object as layer 1"):
        Sequential([Dense(4, 5), relu, Dense(5, 5), relu, Dense(5, 3)])
    dense = Dense(2, 2)
    with pytest.raises(ValueError, match=r"layer 1.0 .* is the same object as layer 0"):
        Sequential([dense, Sequential([dense])])


def test_load_leaves_the_network_unchanged_when_any_array_is_bad(tmp_path):
    model = small_net(0)
    before = {k: v.copy() for k, v in model.params.items()}
    arrays = {k: v.copy() for k, v in small_net(1).params.items()}
    arrays["2.W"] = np.full(arrays["2.W"].shape, np.nan, np.float32)  # the second layer's
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"'2.W' in .* contains NaN"):
        model.load(tmp_path / "bad.npz")
    for key, value in before.items():
        np.testing.assert_array_equal(model.params[key], value)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"is a single array \(.npy, as np.save writes\)"):
        model.load(tmp_path / "one.npy")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="is text, not the .npz file of named arrays"):
        model.load(tmp_path / "text.npz")
