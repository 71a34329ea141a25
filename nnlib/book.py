"""Small helpers the chapters use to talk to the rendered book. Introduced in Chapter 0.

``glue(name, value)`` records a value computed in a chapter so that the prose can quote it
with ``{glue:}`name``` (myst-nb's glue role). It writes exactly the output that
``myst_nb.glue`` writes, so the chapters also run in Colab or plain Jupyter, where
myst-nb is not installed.

``interact(f, **controls)`` shows a figure with controls. In Jupyter and Colab it is
ipywidgets' live ``interact`` (ipywidgets 7 or 8). While the book is built (the
environment variable ``NNLIB_BOOK_BUILD=1``, which the book's Sphinx extension
``book/_ext/book_build.py`` sets for the kernels that execute the chapters), it runs ``f``
on a grid of control values instead and links each control, in the browser, to the frames
computed for it, so the controls of the static HTML book still change the figure with no
kernel and no network. A few of the frames are also written out as a plain grid, which is
what a page shows in print or without JavaScript.

Importing this module also sets the book's colour-blind-safe plotting style
(:mod:`nnlib.style`), so that every chapter, which imports ``glue`` from here, draws with it.
"""

import base64
import html
import inspect
import io
import itertools
import json
import numbers
import os
import sys

import numpy as np
from IPython.core.formatters import format_display_data
from IPython.display import HTML
from IPython.display import display as ipy_display

from nnlib import style

__all__ = ["building_book", "glue", "in_colab", "interact"]

# myst-nb's prefix for values glued with display=False: kept in the notebook, not shown.
_HIDDEN_PREFIX = "application/papermill.record/"

# Set to 1 while the book is built; then interact precomputes its frames.
BUILD_ENV = "NNLIB_BOOK_BUILD"

style.use()


def in_colab():
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def building_book():
    """True while the book is built (``NNLIB_BOOK_BUILD`` set, and not to 0)."""
    return os.environ.get(BUILD_ENV, "") not in ("", "0")


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


def interact(f, /, *, book_values=None, static=3, max_frames=400, max_bytes=3_000_000, **controls):
    """Show ``f``'s output under a control per argument: live in Jupyter, precomputed in the book.

    ``controls`` are ipywidgets controls (or ``interact``'s abbreviations, or
    ``ipywidgets.fixed``), exactly as for ``ipywidgets.interact``: ``IntSlider``,
    ``FloatSlider``, ``FloatLogSlider``, ``Dropdown``, ``RadioButtons``, ``ToggleButtons``,
    ``Select``, ``SelectionSlider`` or ``SelectMultiple``. In Jupyter and Colab the cell is
    ``ipywidgets.interact(f, **controls)``.

    While the book is built, ``f`` runs once for every combination of the values in
    ``book_values`` (a dict: argument name -> list of values). A control missing there
    takes every option of a selection, every integer of an ``IntSlider`` with at most 25,
    and otherwise 9 values spread evenly over its range (on a log scale for
    ``FloatLogSlider``), snapped to its step; ``SelectMultiple`` takes its selection and then
    each option alone. The control's starting value must be among them. Each run's printed
    text and figures become one frame; the page gets a slider (or menu) per control, linked
    in the browser to the frames. ``static`` frames per control (its first, middle and last
    value, the others at their start) are also laid out as a grid for print and for
    readers without JavaScript. More than ``max_frames`` frames, or frames over
    ``max_bytes`` in all (the page must stay light), raise a ValueError that says so.

    Returns None, so the call may end a cell.
    """
    import ipywidgets as widgets

    controls, fixed = _controls(f, controls)
    book_values = book_values or {}
    grids = {name: _book_grid(name, w, book_values.get(name)) for name, w in controls.items()}
    unknown = set(book_values) - set(controls)
    if unknown:
        raise ValueError(
            f"interact: book_values names {sorted(unknown)}, which are not among "
            f"the controls {list(controls)}"
        )
    count = int(np.prod([len(g[0]) for g in grids.values()]))
    if count > max_frames:
        raise ValueError(
            f"interact: the book would need {count} frames of {f.__name__} "
            f"({' x '.join(f'{len(g[0])} {n}' for n, g in grids.items())}), more than "
            f"max_frames={max_frames}: give book_values fewer values"
        )
    if not building_book():
        widgets.interact(f, **controls, **{k: widgets.fixed(v) for k, v in fixed.items()})
        return None
    explorer, frames = _explorer(f, controls, fixed, grids, max_bytes)
    ipy_display(explorer)
    fallback = _fallback(controls, grids, frames, static)
    if fallback:
        ipy_display(HTML(fallback))
    return None


def _controls(f, controls):
    """Split ``controls`` into widgets (in the order of ``f``'s arguments) and fixed values."""
    import ipywidgets as widgets

    try:
        params = inspect.signature(f).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    order = {name: i for i, name in enumerate(params)}
    if params and not takes_any:
        extra = [name for name in controls if name not in params]
        if extra:
            raise TypeError(
                f"interact: {f.__name__} has no argument(s) {extra}; "
                f"its arguments are {list(params)}"
            )
    live, fixed = {}, {}
    for name in sorted(controls, key=lambda n: order.get(n, len(order))):
        abbrev = controls[name]
        if isinstance(abbrev, widgets.fixed):
            fixed[name] = abbrev.value
            continue
        default = params[name].default if name in params else inspect.Parameter.empty
        widget = widgets.interactive.widget_from_abbrev(abbrev, default)
        if widget is None:
            raise TypeError(
                f"interact: {name}={abbrev!r} is neither a widget nor an "
                "abbreviation ipywidgets.interact understands"
            )
        if not getattr(widget, "description", ""):
            widget.description = name
        live[name] = widget
    return live, fixed


def _book_grid(name, widget, values):
    """The (labels, values) the book precomputes for one control, and the start's index."""
    import ipywidgets as widgets
    from ipywidgets.widgets.widget_selection import _MultipleSelection, _Selection

    kind = type(widget).__name__
    if isinstance(widget, _MultipleSelection):
        names = dict(zip(widget._options_values, widget._options_labels))
        start = tuple(widget.value)
        if values is None:
            values = [start] + [(v,) for v in widget._options_values if (v,) != start]
        values = [tuple(v) for v in values]
        for v in values:
            bad = [x for x in v if x not in names]
            if bad:
                raise ValueError(
                    f"interact: book_values[{name!r}] holds {bad}, not among the "
                    f"options {list(names)} of the {kind}"
                )
        labels = [", ".join(names[x] for x in v) or "(none)" for v in values]
    elif isinstance(widget, _Selection):
        options = list(zip(widget._options_labels, widget._options_values))
        start = widget.value
        if values is None:
            values = [v for _, v in options]
        labels = []
        for v in values:
            match = [lab for lab, val in options if val == v]
            match = match or [lab for lab, _ in options if lab == v]  # a label will do too
            if not match:
                raise ValueError(
                    f"interact: book_values[{name!r}] holds {v!r}, not among the "
                    f"options {[lab for lab, _ in options]} of the {kind}"
                )
            labels.append(match[0])
        values = [dict(options)[lab] for lab in labels]
    elif isinstance(widget, (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider)):
        start = widget.value
        log = isinstance(widget, widgets.FloatLogSlider)
        lo, hi = widget.min, widget.max
        if log:
            lo, hi = widget.base**lo, widget.base**hi
        values = _numeric_grid(widget, log) if values is None else list(values)
        outside = [v for v in values if not lo - 1e-12 <= v <= hi + 1e-12]
        if outside:
            raise ValueError(
                f"interact: book_values[{name!r}] holds {outside}, outside the "
                f"{kind}'s range [{lo:g}, {hi:g}]"
            )
        labels = [_format(v, widget.readout_format) for v in values]
    else:
        raise TypeError(
            f"interact: the book cannot precompute a {kind} ({name}); use a slider "
            "(IntSlider, FloatSlider, FloatLogSlider) or a selection (Dropdown, RadioButtons, "
            "ToggleButtons, Select, SelectionSlider, SelectMultiple)"
        )
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"interact: book_values[{name!r}] gives labels {labels}, which repeat; "
            "choose values that read differently"
        )
    found = [i for i, v in enumerate(values) if _same(v, start)]
    if not found:
        raise ValueError(
            f"interact: book_values[{name!r}] = {values} must include the "
            f"control's starting value {start!r}"
        )
    return labels, values, found[0]


def _numeric_grid(widget, log, count=9):
    """A slider's default book values: evenly spread, snapped to its step, with its value."""
    import ipywidgets as widgets

    lo, hi, step = widget.min, widget.max, widget.step
    if isinstance(widget, widgets.IntSlider) and (hi - lo) // step < 25:
        return list(range(lo, hi + 1, step))
    points = lo + np.round((np.linspace(lo, hi, count) - lo) / step) * step
    points = np.clip(points, lo, hi)
    if log:
        points = widget.base**points
    values = [type(widget.value)(float(f"{p:.10g}")) for p in points]
    nearest = int(np.argmin([abs(v - widget.value) for v in values]))
    values[nearest] = widget.value
    return sorted(set(values))


def _format(value, spec):
    try:
        return format(value, spec)
    except (TypeError, ValueError):  # a d3 format Python does not know
        return f"{value:g}"


def _same(a, b):
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0))
    return a == b


def _caption(name, widget):
    """How a frame names a control: its description if plain text, else the argument name."""
    text = getattr(widget, "description", "")
    return text if text and not any(c in text for c in "$\\<") else name


def _explorer(f, controls, fixed, grids, max_bytes):
    """The book's widget: one control per argument, linked to a tree of precomputed frames.

    Each control's ``index`` drives the ``selected_index`` of the Stacks at its depth
    (``jsdlink``, run by the browser), so a frame is shown without a kernel. Returns the
    VBox and a dict {index tuple: frame HTML}.
    """
    import ipywidgets as widgets

    if not hasattr(widgets, "Stack"):
        raise RuntimeError(
            "interact: building the book needs ipywidgets 8 (its Stack widget); this is "
            f"ipywidgets {widgets.__version__}: install requirements.txt"
        )
    names = list(controls)
    frames = {}
    for index in itertools.product(*(range(len(grids[n][0])) for n in names)):
        args = {n: grids[n][1][i] for n, i in zip(names, index)}
        labels = [grids[n][0][i] for n, i in zip(names, index)]
        caption = ", ".join(f"{_caption(n, controls[n])} = {lab}" for n, lab in zip(names, labels))
        frames[index] = _frame(_render(f, {**args, **fixed}), labels, caption)
    size = sum(len(h) for h in frames.values())
    if size > max_bytes:
        raise ValueError(
            f"interact: the {len(frames)} frames of {f.__name__} take {size / 1e6:.1f} MB, "
            f"more than max_bytes={max_bytes / 1e6:.1f} MB: give book_values fewer values"
        )

    book_controls = []
    for n in names:
        widget, (labels, _, start) = controls[n], grids[n]
        if isinstance(widget, widgets.SelectMultiple):
            cls = widgets.Dropdown  # one frame per listed selection
        elif isinstance(widget, widgets.widgets.widget_selection._Selection):
            cls = type(widget)  # a Dropdown stays a Dropdown, RadioButtons stay RadioButtons
        else:
            cls = widgets.SelectionSlider  # a numeric slider, over the book's values
        style = {"description_width": widget.style.description_width}
        book_controls.append(
            cls(options=labels, index=start, description=widget.description, style=style)
        )

    def tree(depth, prefix):
        if depth == len(names):
            return widgets.HTML(frames[prefix])
        kids = [tree(depth + 1, prefix + (i,)) for i in range(len(grids[names[depth]][0]))]
        stack = widgets.Stack(kids, selected_index=grids[names[depth]][2])
        widgets.jsdlink((book_controls[depth], "index"), (stack, "selected_index"))
        return stack

    explorer = widgets.VBox([*book_controls, tree(0, ())])
    explorer.add_class("widget-interact")
    explorer.add_class("nnfp-explorer")
    return explorer, frames


def _render(f, kwargs):
    """Run ``f(**kwargs)`` as ``interact`` would; return its output as a list of HTML parts.

    Printed text comes first, then what ``f`` displayed, then the figures it drew (which
    ``plt.show`` would have shown: here they are saved as PNG, as Jupyter saves them).
    """
    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    before = set(plt.get_fignums())
    show, plt.show = plt.show, lambda *args, **kwargs: None
    try:
        with capture_output() as captured:
            result = f(**kwargs)
            if result is not None:
                ipy_display(result)
    finally:
        plt.show = show
    parts = []
    text = captured.stdout + captured.stderr
    if text:
        parts.append(f'<pre class="nnfp-text">{html.escape(text)}</pre>')
    for out in captured.outputs:
        data = out.data
        if "image/png" in data:
            parts.append(_img(data["image/png"]))
        elif "text/html" in data:
            parts.append(data["text/html"])
        elif "text/plain" in data:
            parts.append(f'<pre class="nnfp-text">{html.escape(data["text/plain"])}</pre>')
    for num in sorted(set(plt.get_fignums()) - before):
        fig = plt.figure(num)
        buf = io.BytesIO()
        fig.savefig(
            buf,
            format="png",
            bbox_inches="tight",
            facecolor=fig.get_facecolor(),
            metadata={"Software": None},
        )
        plt.close(fig)
        parts.append(_img(buf.getvalue()))
    return parts


def _img(png):
    data = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="">'


def _frame(parts, labels, caption):
    """One frame's HTML; ``data-nnfp-values`` names the control labels it was computed for.

    Its images say which values they show; in the browser, ``book/_extra/js/a11y.js``
    (marked by ``data-nnfp-alt``) puts the cell's description of the figure before that.
    """
    alt = f'alt="Figure for {html.escape(caption)}." data-nnfp-alt=""'
    body = "".join(parts).replace('alt=""', alt)
    values = html.escape(json.dumps(labels))
    return f'<div class="nnfp-frame" data-nnfp-values="{values}">{body}</div>'


def _fallback(controls, grids, frames, static):
    """A grid of frames for print and for readers without JavaScript (hidden otherwise)."""
    if static <= 0 or not frames:
        return ""
    names = list(controls)
    start = tuple(grids[n][2] for n in names)
    chosen = []
    for depth, n in enumerate(names):
        size = len(grids[n][0])
        for i in np.unique(np.linspace(0, size - 1, min(static, size)).round().astype(int)):
            index = start[:depth] + (int(i),) + start[depth + 1 :]
            if index not in chosen:
                chosen.append(index)
    figures = []
    for index in chosen:
        caption = ", ".join(
            f"{_caption(n, controls[n])} = {grids[n][0][i]}" for n, i in zip(names, index)
        )
        frame = frames[index].replace(' data-nnfp-alt=""', "")  # not the widget's settings
        figures.append(f"<figure>{frame}<figcaption>{html.escape(caption)}</figcaption></figure>")
    return (
        '<div class="nnfp-frames"><p>Frames of the figure above, for a few values of its '
        "controls (online, the controls choose the frame; in Jupyter or Colab they "
        f"recompute it).</p>{''.join(figures)}</div>"
    )
