"""validation_split (issue 19): a held-out part of the training data, for every choice."""

import numpy as np
import pytest

from nnlib.validation import validation_split


def test_the_split_is_a_seeded_partition_of_the_examples():
    X = np.arange(50.0).reshape(25, 2)
    y = np.arange(25)
    X_tr, y_tr, X_val, y_val = validation_split(X, y, 7, rng=3)
    assert X_tr.shape == (18, 2) and X_val.shape == (7, 2) and len(y_tr) == 18 and len(y_val) == 7
    # every example lands in exactly one part, with its own label
    assert sorted(np.concatenate([y_tr, y_val]).tolist()) == list(range(25))
    assert np.array_equal(X_tr[:, 0], 2 * y_tr) and np.array_equal(X_val[:, 0], 2 * y_val)
    # the same seed gives the same split, another seed another one
    assert np.array_equal(validation_split(X, y, 7, rng=3)[3], y_val)
    assert not np.array_equal(validation_split(X, y, 7, rng=4)[3], y_val)
    # the held-out part is random, not the last rows
    assert sorted(y_val.tolist()) != list(range(18, 25))


@pytest.mark.parametrize("n_val", [0, 25, -1])
def test_a_split_that_leaves_a_part_empty_is_refused(n_val):
    with pytest.raises(ValueError, match="n_val must be between 1 and N - 1 = 24"):
        validation_split(np.zeros((25, 3)), np.zeros(25), n_val)


def test_x_and_y_of_different_lengths_are_refused():
    with pytest.raises(
        ValueError, match=r"same number of examples, got shapes \(5, 3\) and \(4,\)"
    ):
        validation_split(np.zeros((5, 3)), np.zeros(4), 2)
