"""Sphinx extension: keep the downloadable notebooks' printed output as it was printed.

With ``nb_merge_streams: true`` myst-nb 1.x merges a cell's stream outputs for the page by
appending the later ones' text to the first output *object*, which is the executed
notebook's own; that notebook is written out afterwards (``_build/jupyter_execute``, the
"download .ipynb" button) with the merged first output *and* the later ones, so every line
printed after the first stream message appears twice. This makes the merge work on a copy.
tests/test_downloads.py checks the downloaded notebooks.
"""

import copy

from myst_nb.core import render


def _coalesce_a_copy(outputs, _merge=render.coalesce_streams):
    return _merge(copy.deepcopy(outputs))


def setup(app):
    if getattr(render.coalesce_streams, "__name__", "") != _coalesce_a_copy.__name__:
        render.coalesce_streams = _coalesce_a_copy
    return {"parallel_read_safe": True, "parallel_write_safe": True}
