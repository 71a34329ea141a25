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


@pytest.fixture(scope="session")
def widget_demo_build():
    """tests/widget_demo.py's demos run in a Jupyter kernel as the book build runs them.

    The kernel gets NNLIB_BOOK_BUILD=1 and the inline backend, as under `jupyter-book
    build`; returns the executed notebook, its widget state in ``metadata.widgets`` as
    nbclient saves it for myst-nb.
    """
    import os
    from pathlib import Path

    import nbclient
    import nbformat
    from widget_demo import DEMOS

    tests = Path(__file__).parent
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from widget_demo import show")]
    nb.cells += [nbformat.v4.new_code_cell(f"show({name!r})") for name in DEMOS]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["NNLIB_BOOK_BUILD"] = "1"
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tests)}}
    )
    client.execute(env=env)
    return nb
