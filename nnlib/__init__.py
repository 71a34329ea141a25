"""nnlib: the neural-network library that *Neural Networks from First Principles* grows.

Every module is one idea of the book, in the order the book teaches it. Each public
name says in its docstring which chapter introduces it; ``book/nnlib.md`` lists them all.
"""

__version__ = "0.1.0"

from ._engine import engine_enabled, set_engine  # noqa: E402

__all__ = ["engine_enabled", "set_engine"]
