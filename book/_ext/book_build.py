"""Sphinx extension: what the book build needs for nnlib.book.interact.

- Sets ``NNLIB_BOOK_BUILD=1`` before myst-nb executes the chapters: the kernels inherit
  this process's environment, so every ``nnlib.book.interact`` call in a chapter
  precomputes its frames for the browser instead of waiting for a kernel. Any
  ``jupyter-book build`` of this book sets it, whichever command started it.
- Adds the style that shows the frames' static grid only in print and without
  JavaScript (``book/_extra/css/widgets.css``), and the one-line script that tells the
  stylesheet JavaScript runs (``book/_extra/js/has-js.js``).
"""

import os


def setup(app):
    os.environ["NNLIB_BOOK_BUILD"] = "1"
    # html_extra_path copies book/_extra to the site's root; Sphinx resolves these from _static/.
    app.add_css_file("../css/widgets.css")
    app.add_js_file("../js/has-js.js", priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
