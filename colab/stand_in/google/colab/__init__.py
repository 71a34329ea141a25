"""A stand-in for Colab's own ``google.colab`` package, used by `make colab-check`.

scripts/colab_check.py puts colab/stand_in on the kernel's PYTHONPATH and imports
``google.colab`` when the kernel starts, as Colab's kernel does, so that a chapter's setup
cell takes its Colab branch. It holds only what the chapters call: a chapter that reaches for
more of Colab's API (``google.colab.files``, ``drive``...) fails the check with an ImportError,
and that part is then added here, doing what Colab's does as far as a kernel can tell.
"""

from . import output

__all__ = ["output"]
