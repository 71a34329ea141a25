"""Hidden tests for Chapter 0's exercises: shapes and values the public checks never use.

Each test_N_k runs inside the student's notebook (names such as np and the student's
functions are the notebook's own); otter-grader hides it from students.
"""
# ruff: noqa: F821  (the names come from the notebook)


def test_0_1():
    rng = np.random.default_rng(1001)
    labels, predicted = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    counts = confusion_matrix(labels, predicted, 7)
    expected = np.zeros((7, 7), dtype=int)
    for i, j in zip(labels, predicted):
        expected[i, j] += 1
    assert np.shape(counts) == (7, 7)
    assert np.issubdtype(np.asarray(counts).dtype, np.integer), "counts are integers"
    assert np.array_equal(counts, expected), "every repeated (label, prediction) pair counts"
    # a class that never occurs gives an empty row and column, not a smaller matrix
    assert np.array_equal(
        confusion_matrix(np.array([0, 0]), np.array([0, 2]), 4),
        [[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    )


def test_0_2():
    rng = np.random.default_rng(1002)
    X1, X2 = rng.standard_normal((7, 5)), rng.standard_normal((3, 5))
    out = pairwise_sq_dists(X1, X2)
    assert np.shape(out) == (7, 3)
    assert np.allclose(out, ((X1[:, None] - X2[None]) ** 2).sum(-1))
    assert np.allclose(np.diag(pairwise_sq_dists(X1, X1)), 0)
    assert np.shape(pairwise_sq_dists(X1[:1], X2)) == (1, 3)


def test_0_3():
    # the lines that write into the arrays the layers hold: in-place operators (B, D), out=
    # (E), slice assignment (F) and in-place updates through views (G: reshape of an array
    # whose entries lie in memory row after row, I: transpose); A and C only rebind a name or
    # a dict entry, and H updates a copy
    assert isinstance(changes, str), 'changes is a string of letters, such as "AC"'
    assert len(changes) == len(set(changes)), "each letter once"
    assert set(changes) == set("BDEFGI")


def test_0_4():
    rng = np.random.default_rng(1005)
    a, b = rng.standard_normal(9), rng.standard_normal(9)
    expected = np.mean((a - b) ** 2)
    for x in (a, a[:, None]):
        for y in (b, b[:, None]):
            assert np.isclose(mse(x, y), expected), (np.shape(x), np.shape(y))
    for bad in (rng.standard_normal(8), rng.standard_normal((10, 1))):
        try:
            mse(a[:, None], bad)
        except ValueError as error:
            for shape in ((9, 1), bad.shape):
                assert str(shape) in str(error), "the error should name both shapes as given"
        else:
            raise AssertionError("different numbers of values must raise a ValueError")
    # one value against several broadcasts silently unless the sizes are compared
    for x, y in ((a[:1, None], b), (a, b[:1]), (a[:1], b[:, None])):
        try:
            mse(x, y)
        except ValueError:
            pass
        else:
            raise AssertionError("1 value against 9 must raise, not broadcast")


def test_0_5():
    assert machine_epsilon(np.float16) == 2.0**-10
    assert machine_epsilon(np.float32) == float(np.finfo(np.float32).eps)
    assert machine_epsilon(np.float64) == float(np.finfo(np.float64).eps)
    assert isinstance(machine_epsilon(np.float32), float)
