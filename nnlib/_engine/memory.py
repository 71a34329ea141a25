"""Where big arrays live: on 2 MB "huge" memory pages. Used by Sequential and the optimizers.

A program sees memory through *pages*, usually of 4 kB, and the operating system places
each page wherever physical memory is free. A 2 MB array is then 512 scattered pieces.
Two things get slower. The processor translates every address through a small cache of
recent page translations (the TLB), which a few such arrays together overflow; and where the
pieces land decides which of them compete for the same places in the processor's cache.
The second is luck: the same training step of a 784-512-256-10 network took a few
percent longer or not, from one copy of the network to the next, depending only on where
its arrays had landed.

A *huge* page is 2 MB of physically contiguous memory with one translation. Linux hands
them out to memory that asks for them (``madvise(MADV_HUGEPAGE)``), which is what
``zeros`` does for arrays of ``HUGE_FROM`` bytes or more: the network's flat parameter and
gradient buffers and the optimizers' state. Everything else, and every array on a system
without huge pages (macOS, Windows, or Linux with them switched off), is an ordinary NumPy
array: the numbers are the same either way, only the time differs. The speed page ("How
fast is nnlib?") measures it.
"""

import mmap
from pathlib import Path

import numpy as np

__all__ = ["zeros", "on_huge_pages"]

HUGE_PAGE = 2 << 20  # bytes in one huge page on x86-64 and ARM64 Linux
HUGE_FROM = 1 << 20  # smaller arrays fit a few 4 kB pages and gain nothing


def zeros(n, dtype=np.float32):
    """A 1-D array of ``n`` zeros, starting on a huge-page boundary where the system has them.

    The array is a view into an anonymous memory map (``mmap``), which the operating system
    fills with zeros; it lives as long as any view of it does. Below ``HUGE_FROM`` bytes, or
    where the system cannot be asked for huge pages, it is ``np.zeros(n, dtype)``.
    """
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    if nbytes < HUGE_FROM or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.zeros(n, dtype)
    length = -(-nbytes // HUGE_PAGE) * HUGE_PAGE  # whole huge pages
    # Private anonymous memory (what malloc uses for big blocks), one huge page spare so
    # the array can start on a boundary. (Shared memory, mmap's default, has its own huge
    # page setting, usually off.)
    memory = mmap.mmap(-1, length + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = -np.frombuffer(memory, np.uint8).ctypes.data % HUGE_PAGE
    try:
        memory.madvise(mmap.MADV_HUGEPAGE, start, length)
    except OSError:  # huge pages switched off ("never"): ordinary pages, same numbers
        pass
    return np.frombuffer(memory, dtype, count=n, offset=start)


def on_huge_pages(a):
    """How many bytes of array ``a``'s memory the system has backed with huge pages (Linux).

    Reads ``/proc/self/smaps``; returns 0 where it cannot (other systems, or ``a`` not
    touched yet, since memory is only handed out when first written).
    """
    start = a.__array_interface__["data"][0]
    end = start + a.nbytes
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return 0
    total, inside = 0, False
    for line in lines:
        first = line.split(maxsplit=1)[0]
        if "-" in first and ":" not in first:  # a mapping's header: "lo-hi perms ..."
            lo, hi = (int(x, 16) for x in first.split("-"))
            inside = lo < end and start < hi
        elif inside and first == "AnonHugePages:":
            total += int(line.split()[1]) * 1024
    return min(total, a.nbytes)
