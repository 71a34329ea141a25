"""Shared fixtures for nnlib's unit tests."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # plots in tests are drawn off-screen


def _away_from_kinks(x):
    """Move points off 0, where ReLU-like derivatives jump and central differences lie."""
    return np.where(np.abs(x) < 1e-3, 0.1, x)


def _blobs(n=600, D=20, C=4, seed=0):
    """C Gaussian clusters in D dimensions: an easy, honest classification problem."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((C, D)) * 2
    y = rng.integers(0, C, n)
    return (centres[y] + rng.standard_normal((n, D))).astype(np.float32), y


@pytest.fixture
def away_from_kinks():
    return _away_from_kinks


@pytest.fixture
def blobs():
    return _blobs


@pytest.fixture(autouse=True)
def _close_figures():
    """Close figures a test left open, so matplotlib never warns about too many."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
