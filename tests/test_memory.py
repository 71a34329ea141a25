"""nnlib.memory: big buffers on huge pages hold the same numbers as ordinary arrays."""

import mmap
from pathlib import Path

import numpy as np
import pytest

from nnlib import memory
from nnlib.layers import Dense, ReLU
from nnlib.network import Sequential
from nnlib.optim import SGD, Adam

LINUX_HUGE_PAGES = hasattr(mmap, "MADV_HUGEPAGE")


def huge_pages_offered():
    """True where Linux hands out transparent huge pages to memory that asks for them."""
    try:
        setting = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[always]" in setting or "[madvise]" in setting


def big_mlp():
    return Sequential([Dense(784, 512, rng=0), ReLU(), Dense(512, 256, rng=1)])


@pytest.mark.parametrize("n", [0, 10, 300_000, 1_000_003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zeros_are_writable_zeros_of_the_asked_size_and_type(n, dtype):
    a = memory.zeros(n, dtype)
    assert a.shape == (n,) and a.dtype == dtype and a.flags.writeable
    assert a.flags.c_contiguous and not a.any()
    a[:] = np.arange(n)
    np.testing.assert_array_equal(a, np.arange(n, dtype=dtype))


def test_small_arrays_are_ordinary_numpy_arrays():
    a = memory.zeros(memory.HUGE_FROM // 8 - 1, np.float64)
    assert a.base is None  # np.zeros: owns its memory


@pytest.mark.skipif(not LINUX_HUGE_PAGES, reason="no madvise(MADV_HUGEPAGE) on this system")
def test_big_arrays_start_on_a_huge_page_boundary_and_outlive_their_names():
    a = memory.zeros(600_000)
    assert a.ctypes.data % memory.HUGE_PAGE == 0
    view = a[100:200]
    del a  # the memory map lives on in the view's base
    view[:] = 7
    assert view.sum() == 700


@pytest.mark.skipif(not huge_pages_offered(), reason="transparent huge pages are switched off")
def test_big_arrays_get_huge_pages_once_written():
    a = memory.zeros(600_000)
    a[:] = 1  # memory is handed out on first write
    assert memory.on_huge_pages(a) > 0


@pytest.mark.skipif(not LINUX_HUGE_PAGES, reason="no madvise(MADV_HUGEPAGE) on this system")
@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(1e-3)])
def test_networks_and_optimizers_keep_big_buffers_on_huge_pages(make):
    model = big_mlp()
    for buffer in (model.flat_params, model.flat_grads):
        assert buffer.ctypes.data % memory.HUGE_PAGE == 0
    opt = make()
    params, grads = {"all": model.flat_params}, {"all": model.flat_grads}
    opt.step(params, grads)
    for name, state in opt.state["all"].items():
        if name != "step":
            assert state.ctypes.data % memory.HUGE_PAGE == 0, name
            assert state.shape == model.flat_params.shape


def test_huge_pages_change_no_number():
    """The same training steps on huge pages and on ordinary arrays end bit for bit equal."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 784), dtype=np.float32)
    dout = rng.standard_normal((64, 256), dtype=np.float32)
    results = []
    for huge_from in [memory.HUGE_FROM, float("inf")]:
        saved, memory.HUGE_FROM = memory.HUGE_FROM, huge_from
        try:
            model, opt = big_mlp(), Adam(1e-3)
            for _ in range(3):
                model.forward(X, training=True)
                model.backward(dout)
                opt.step({"all": model.flat_params}, {"all": model.flat_grads})
        finally:
            memory.HUGE_FROM = saved
        results.append(model.flat_params.copy())
    np.testing.assert_array_equal(*results)
