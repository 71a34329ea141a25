"""Bad input is answered with a ValueError naming the layer or function, the expected
shape and the shape received; nothing is silently broadcast."""

import numpy as np
import pytest

from nnlib.layers import Dense, Flatten
from nnlib.losses import MSELoss, SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD
from nnlib.train import evaluate, fit


def net():
    return Sequential([Dense(6, 5, rng=0), Dense(5, 3, rng=1)])


EXPECTED = r"Dense\(6, 5\): expected input of shape \(N, 6\), "
NETWORK_INPUTS = [
    (np.ones((4, 5), np.float32), r"layer 0: " + EXPECTED + r"got \(4, 5\)"),
    (np.ones((4, 2, 3), np.float32), EXPECTED + r"got \(4, 2, 3\)"),
    (np.ones(6, np.float32), r"Dense\(6, 5\): expected input of shape \(N, 6\), got \(6,\)"),
    (np.ones((0, 6), np.float32), r"Sequential: got an empty input of shape \(0, 6\)"),
    (np.array(3.0), r"Sequential: got an empty input of shape \(\)"),
    (np.full((2, 6), np.nan, np.float32), r"input of shape \(2, 6\) contains NaN"),
    (np.array([[0, 1, 2, 3, 4, np.inf]]), r"contains NaN or inf"),
    (np.array([[0, 1, -np.inf, 3, 4, 5]], np.float32), r"contains NaN or inf"),
    (np.array([[0, 1, 2, np.nan, 4, np.inf]], np.float32), r"contains NaN or inf"),
]  # fmt: skip


@pytest.mark.parametrize(("X", "message"), NETWORK_INPUTS)
def test_bad_input_to_a_network_is_named(X, message):
    with pytest.raises(ValueError, match=message):
        net().forward(X)


def test_large_finite_inputs_are_not_mistaken_for_inf():
    # Their float32 sum overflows to inf; every value is finite, so the input is accepted.
    X = np.full((4, 6), 3e38, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        assert net().forward(X).shape == (4, 3)


def test_the_failing_layer_is_located_inside_the_network():
    model = Sequential([Dense(6, 5), Dense(4, 3)])  # 5 out, 4 in: a wiring mistake
    with pytest.raises(ValueError, match=r"layer 1: Dense\(4, 3\).*\(N, 4\), got \(2, 5\)"):
        model.forward(np.ones((2, 6), np.float32))


def test_bad_input_to_single_layers_is_named():
    with pytest.raises(
        ValueError, match=r"Dense\(3, 2\): expected input of shape \(N, 3\), got \(5, 4\)"
    ):
        Dense(3, 2).forward(np.ones((5, 4)))
    with pytest.raises(
        ValueError, match=r"Flatten\(\): expected input of shape \(N, ...\), got \(5,\)"
    ):
        Flatten().forward(np.ones(5))


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([0, 1, 3]), r"labels must be in \[0, 2\] for 3 classes, got values from 0 to 3"),
        (
            np.array([0, -1, 1]),
            r"labels must be in \[0, 2\] for 3 classes, got values from -1 to 1",
        ),
        (
            np.array([0.0, 1.0, 2.0]),
            r"expected integer labels of shape \(N,\), got shape \(3,\) and dtype float64",
        ),
        (np.array([0, 1]), r"y_hat has 3 rows but y has 2"),
        (np.array([[0], [1], [2]]), r"expected integer labels of shape \(N,\), got shape \(3, 1\)"),
    ],
)
def test_bad_labels_for_cross_entropy_are_named(y, message):
    with pytest.raises(ValueError, match="SoftmaxCrossEntropy: " + message):
        SoftmaxCrossEntropy().forward(np.zeros((3, 3)), y)


def test_bad_logits_and_empty_batches_for_the_losses():
    with pytest.raises(ValueError, match=r"expected logits of shape \(N, C\), got \(3,\)"):
        SoftmaxCrossEntropy().forward(np.zeros(3), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy: got an empty batch"):
        SoftmaxCrossEntropy().forward(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match=r"MSELoss: got an empty batch"):
        MSELoss().forward(np.zeros((0, 1)), np.zeros((0, 1)))


def test_mse_never_broadcasts():
    with pytest.raises(
        ValueError, match=r"MSELoss: y_hat has shape \(4, 1\) but y has shape \(4,\)"
    ):
        MSELoss().forward(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"MSELoss: y_hat has 4 rows but y has 3"):
        MSELoss().forward(np.zeros((4, 1)), np.zeros((3, 1)))


def fit_once(X, y, **kwargs):
    model = Sequential([Dense(2, 3, rng=0)])
    return fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, batch_size=2,
               progress=False, **kwargs)  # fmt: skip


FIT_INPUTS = [
    (np.zeros((3, 2)), np.zeros(2, int), r"fit: X has 3 examples but y has shape \(2,\)"),
    (np.zeros((0, 2)), np.zeros(0, int), r"fit: X is empty \(shape \(0, 2\)\)"),
    (np.array([[np.nan, 0.0]]), np.zeros(1, int), r"fit: X \(as float32\) of shape \(1, 2\)"),
    (np.zeros((3, 2)), np.array([0, 1, 3]), (
        r"fit: labels must be in \[0, 2\] for the model's 3 outputs, got values from 0 to 3"
    )),
    (np.zeros((3, 2)), np.array([0, -1, 2]), r"fit: labels must be in \[0, 2\].*from -1 to 2"),
    (np.zeros((3, 2)), np.array([0.0, 1.0, 2.0]), (
        r"fit: classification labels must be integers of shape \(N,\), "
        r"got shape \(3,\) and dtype float64"
    )),
    (np.zeros((3, 4)), np.zeros(3, int), (
        r"fit: X of shape \(3, 4\) does not fit the model: .*"
        r"Dense\(2, 3\): expected input of shape \(N, 2\), got \(1, 4\)"
    )),
]  # fmt: skip


@pytest.mark.parametrize(("X", "y", "message"), FIT_INPUTS)
def test_bad_data_given_to_fit_is_named(X, y, message):
    with pytest.raises(ValueError, match=message):
        fit_once(X, y)


def test_bad_validation_data_and_settings_are_named():
    X, y = np.zeros((4, 2)), np.zeros(4, int)
    with pytest.raises(ValueError, match=r"fit \(validation_data\): X has 4 examples but y"):
        fit_once(X, y, validation_data=(X, y[:3]))
    with pytest.raises(ValueError, match=r"fit \(validation_data\): labels must be in \[0, 2\]"):
        fit_once(X, y, validation_data=(X, y + 5))
    with pytest.raises(ValueError, match=r"fit: batch_size must be an integer >= 1, got 0"):
        fit(Sequential([Dense(2, 3)]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1,
            batch_size=0, progress=False)  # fmt: skip


def test_bad_data_given_to_evaluate_and_predict_is_named():
    with pytest.raises(ValueError, match=r"evaluate: X has 2 examples but y has shape \(3,\)"):
        evaluate(net(), np.zeros((2, 6)), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"evaluate: X \(as float32\) of shape \(1, 6\) contains"):
        evaluate(net(), np.full((1, 6), np.nan), np.zeros(1, int))
    with pytest.raises(
        ValueError,
        match=r"Sequential.predict: expected a batch of inputs \(N, ...\), got shape \(0, 6\)",
    ):
        net().predict(np.zeros((0, 6)))
