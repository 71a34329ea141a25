"""nnlib.book: glue's output, and interact, live in Jupyter and precomputed for the book."""

import base64
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest
import widget_demo
from widget_state import explorers, frame_images, frame_text, frame_values

from nnlib import book

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


def png_of(fig):
    """A figure as the book's frames hold it (PNG, as Jupyter's inline backend saves it)."""
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        bbox_inches="tight",
        facecolor=fig.get_facecolor(),
        metadata={"Software": None},
    )
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_building_book_follows_the_environment(monkeypatch):
    monkeypatch.delenv(book.BUILD_ENV, raising=False)
    assert not book.building_book()
    monkeypatch.setenv(book.BUILD_ENV, "0")
    assert not book.building_book()
    monkeypatch.setenv(book.BUILD_ENV, "1")
    assert book.building_book()


def test_outside_the_build_it_is_ipywidgets_interact(monkeypatch):
    monkeypatch.delenv(book.BUILD_ENV, raising=False)
    calls = []
    monkeypatch.setattr(widgets, "interact", lambda f, **kw: calls.append((f, kw)))
    slider = widgets.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.1)
    assert book.interact(widget_demo.wave, freq=slider, kind=["sin", "cos"]) is None
    [(f, kw)] = calls
    assert f is widget_demo.wave and kw["freq"] is slider  # the continuous control itself
    assert kw["kind"].options == ("sin", "cos")


def grid(widget, values=None, name="x"):
    return book._book_grid(name, widget, values)


def test_default_grids():
    labels, values, start = grid(widgets.FloatSlider(value=0.3, min=0.01, max=1.1, step=0.01))
    assert len(values) == 9 and values[0] == 0.01 and values[-1] == 1.1 and values[start] == 0.3
    assert labels[start] == "0.30" and len(set(labels)) == 9
    assert grid(widgets.IntSlider(value=3, min=0, max=8))[1] == list(range(9))
    assert len(grid(widgets.IntSlider(value=0, min=0, max=99))[1]) == 9
    labels, values, _ = grid(widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2))
    assert values[0] == pytest.approx(0.01) and values[-1] == pytest.approx(100)
    assert values[4] == 1.0  # evenly spread on the log scale
    labels, values, start = grid(widgets.Dropdown(options=[("one", 1), ("two", 2)], value=2))
    assert (labels, values, start) == (["one", "two"], [1, 2], 1)
    labels, values, start = grid(widgets.SelectMultiple(options=["a", "b"], value=("a", "b")))
    assert labels == ["a, b", "a", "b"] and values[start] == ("a", "b")


@pytest.mark.parametrize(
    "widget, values, message",
    [
        (widgets.FloatSlider(value=0.5, min=0, max=1), [0.5, 2.0], "outside"),
        (widgets.FloatSlider(value=0.5, min=0, max=1), [0.1, 0.2], "starting value 0.5"),
        (widgets.FloatSlider(value=0.5, min=0, max=1), [0.5, 0.501], "repeat"),
        (widgets.Dropdown(options=["a", "b"]), ["a", "c"], "not among the options"),
        (widgets.SelectMultiple(options=["a"], value=("a",)), [("a",), ("q",)], "not among"),
        (widgets.Text("hi"), None, "cannot precompute a Text"),
    ],
)
def test_grid_errors_say_what_is_wrong(widget, values, message):
    with pytest.raises((ValueError, TypeError), match=message):
        grid(widget, values)


def test_interact_errors_say_what_is_wrong(monkeypatch):
    monkeypatch.delenv(book.BUILD_ENV, raising=False)
    f = widget_demo.wave
    with pytest.raises(TypeError, match=r"no argument\(s\) \['amp'\]"):
        book.interact(f, amp=widgets.IntSlider())
    with pytest.raises(ValueError, match="not among the controls"):
        book.interact(f, freq=widgets.FloatSlider(1.0, min=0.5, max=3), book_values={"fq": [1]})
    with pytest.raises(ValueError, match="600 frames .* more than max_frames=400"):
        book.interact(
            f,
            freq=widgets.IntSlider(1, 0, 299),
            kind=["sin", "cos"],
            book_values={"freq": list(range(300))},
        )


def test_frames_over_the_size_budget_are_refused():
    controls, fixed = book._controls(widget_demo.count, {"n": widgets.IntSlider(2, 0, 5)})
    grids = {"n": grid(controls["n"], name="n")}
    with pytest.raises(ValueError, match="6 frames of count take .* more than max_bytes"):
        book._explorer(widget_demo.count, controls, fixed, grids, max_bytes=100)


@pytest.fixture(scope="module")
def demo(widget_demo_build):
    nb = widget_demo_build
    return nb, explorers(nb.metadata.widgets[STATE])


def test_the_build_shows_a_linked_widget_and_a_static_grid_per_call(demo):
    nb, found = demo
    for cell in nb.cells[1:]:
        kinds = [o.output_type + ":" + " ".join(sorted(o.get("data", {}))) for o in cell.outputs]
        assert len(kinds) == 2, f"{cell.source}: outputs {kinds}"
        assert VIEW in cell.outputs[0].data and "text/html" in cell.outputs[1].data, kinds
        assert 'class="nnfp-frames"' in cell.outputs[1].data["text/html"]
    views = {cell.outputs[0].data[VIEW]["model_id"] for cell in nb.cells[1:]}
    assert views == {e["id"] for e in found}


def test_every_control_drives_the_stacks_at_its_depth(demo):
    _, found = demo
    assert [len(e["controls"]) for e in found] == [2, 1, 3, 1]
    for e in found:
        sizes = [len(labels) for _, labels, _ in e["controls"]]
        assert len(e["frames"]) == int(__import__("math").prod(sizes))
        assert len(e["links"]) == len(e["stacks"])
        for control, trait, stack, target in e["links"]:
            depth = e["stacks"][stack]
            assert (trait, target) == ("index", "selected_index")
            assert control == e["control_ids"][depth], "a Stack follows the wrong control"
        for labels, html in e["frames"].items():
            assert frame_values(html) == list(labels)


def test_each_frame_is_the_output_for_its_values(demo):
    """Redraw every frame here and compare it, byte for byte, with what the kernel saved."""
    _, (wave, count, three, pick) = demo
    assert [c[1] for c in wave["controls"]][1] == ["sin", "cos"]
    for (freq, kind), html in wave["frames"].items():
        assert frame_images(html) == [png_of(widget_demo.draw_wave(float(freq), kind))]
    assert wave["controls"][0][1][wave["controls"][0][2]] == "1.00"  # starts where the slider does
    for (n,), html in count["frames"].items():
        assert frame_text(html) == ["*" * int(n) + f" ({n})\n"]
    for (k, scale, style), html in three["frames"].items():
        expected = png_of(widget_demo.draw_three(int(k), float(scale), style))
        assert frame_images(html) == [expected], (k, scale, style)
    assert list(pick["frames"]) == [("x, y",), ("x",), ("y",), ("z",)]
    assert frame_text(pick["frames"][("x, y",)]) == ["x + y offset 3\n"]
