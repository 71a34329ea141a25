"""Sphinx extension: what the book build needs for nnlib.book.interact.

- Sets ``NNLIB_BOOK_BUILD=1`` before myst-nb executes the chapters: the kernels inherit
  this process's environment, so every ``nnlib.book.interact`` call in a chapter
  precomputes its frames for the browser instead of waiting for a kernel. Any
  ``jupyter-book build`` of this book sets it, whichever command started it.
- Adds the style that shows the frames' static grid only in print and without
  JavaScript (``book/_extra/css/widgets.css``), and the one-line script that tells the
  stylesheet JavaScript runs (``book/_extra/js/has-js.js``).
- Gives the theme its default colour mode, "auto" (follow the reader's system; a
  template variable, ``html_context["default_mode"]``). Left empty, as Jupyter Book
  leaves it, pydata-sphinx-theme logs "Got invalid theme mode" as a console error on
  every page, and the browser tests accept no console error.
"""

import os


def _default_mode(app, config):
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def setup(app):
    os.environ["NNLIB_BOOK_BUILD"] = "1"
    app.connect("config-inited", _default_mode)
    # html_extra_path copies book/_extra to the site's root; Sphinx resolves these from _static/.
    app.add_css_file("../css/widgets.css")
    app.add_js_file("../js/has-js.js", priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
