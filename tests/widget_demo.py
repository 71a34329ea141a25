"""A small demo of ``nnlib.book.interact``, the widgets that respond in the rendered book.

``tests/test_book.py`` runs ``show(name)`` for every demo in a Jupyter kernel, as the book
build does (``NNLIB_BOOK_BUILD=1``), and checks each precomputed frame against a fresh
drawing; ``tests/browser/test_widgets.py`` moves every control of the result in Chromium.
In Jupyter, ``from widget_demo import show; show("wave")`` gives the live version.

Each demo is (function, controls, other keyword arguments of interact); the controls are
made fresh for every call, since a widget lives in one kernel.
"""

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from nnlib import book


def draw_wave(freq, kind):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 2 * np.pi, 100)
    ax.plot(x, getattr(np, kind)(freq * x))
    ax.set_title(f"{kind}({freq:.1f} x)")
    return fig


def wave(freq=1.0, kind="sin"):
    draw_wave(freq, kind)
    plt.show()


def count(n=2):
    print("*" * n + f" ({n})")


def draw_three(k=2, scale=1.0, style="a"):
    fig, ax = plt.subplots(figsize=(2.5, 2))
    ax.plot(np.arange(5) ** k * scale, "o-" if style == "a" else "s--")
    ax.set_title(f"k={k} scale={scale:g} {style}")
    return fig


def three(k=2, scale=1.0, style="a"):
    draw_three(k, scale, style)
    plt.show()


def pick(chosen=("x",), offset=0):
    print(" + ".join(chosen) or "nothing", "offset", offset)


DEMOS = {
    "wave": (
        wave,
        lambda: dict(
            freq=widgets.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.1, description="$f$"),
            kind=widgets.Dropdown(options=["sin", "cos"], value="sin", description="kind"),
        ),
        {},
    ),
    "count": (count, lambda: dict(n=widgets.IntSlider(value=2, min=0, max=5)), {}),
    "three": (
        three,
        lambda: dict(
            k=widgets.IntSlider(value=2, min=1, max=3, description="power"),
            scale=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1),
            style=widgets.RadioButtons(options=["a", "b"], value="a"),
        ),
        {"book_values": {"scale": [0.1, 1.0, 10.0]}},
    ),
    "pick": (
        pick,
        lambda: dict(
            chosen=widgets.SelectMultiple(options=["x", "y", "z"], value=("x", "y")),
            offset=widgets.fixed(3),
        ),
        {},
    ),
}


def show(name):
    f, controls, kwargs = DEMOS[name]
    book.interact(f, **controls(), **kwargs)
