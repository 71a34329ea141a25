"""Small helpers the chapters use to talk to the rendered book. Introduced in Chapter 0.

``glue(name, value)`` records a value computed in a chapter so that the prose can quote it
with ``{glue:}`name``` (myst-nb's glue role). It writes exactly the output that
``myst_nb.glue`` writes, so the chapters also run in Colab or plain Jupyter, where
myst-nb is not installed.

Importing this module also sets the book's colour-blind-safe plotting style
(:mod:`nnlib.style`), so that every chapter, which imports ``glue`` from here, draws with it.
"""

import sys

from IPython.core.formatters import format_display_data
from IPython.display import display as ipy_display

from nnlib import style

__all__ = ["glue", "in_colab"]

# myst-nb's prefix for values glued with display=False: kept in the notebook, not shown.
_HIDDEN_PREFIX = "application/papermill.record/"

style.use()


def in_colab():
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def glue(name, value, display=True):
    """Store ``value`` under ``name`` for the book's ``{glue:}`` roles; show it if ``display``.

    The prose then quotes it as ``{glue:text}`name:.1f``` (format spec after the colon).
    Returns None, like myst-nb's ``glue``, so a glue on a cell's last line prints nothing.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # NumPy scalars: glue 0.5, not "np.float64(0.5)"
    mimebundle, metadata = format_display_data(value)
    prefix = "" if display else _HIDDEN_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
