"""Hygiene of the chapter notebooks: the rules every chapter keeps, checked without running it.

The chapters themselves are executed by nbval (`pytest --nbval-lax chapters`) and by the
book build; this file checks what a reader or CI would otherwise trip over.
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = CHAPTERS + sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files(node):
    """Every `file:` entry of _toc.yml, depth first."""
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        for value in node.values():
            yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_chapters():
    assert len(CHAPTERS) >= 1, "no chapters/NN_name.ipynb found"


def test_toc_and_chapters_agree():
    listed = set(toc_files(TOC)) | {TOC["root"]}
    on_disk = {f"chapters/{p.stem}" for p in CHAPTERS}
    assert on_disk <= listed, f"chapters missing from _toc.yml: {sorted(on_disk - listed)}"
    for entry in listed:
        matches = list(ROOT.glob(entry + ".*"))
        assert matches, f"_toc.yml lists {entry!r}, but no such file exists"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped(path):
    nb = read(path)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state in metadata"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_cell_installs_nnlib_in_colab_from_the_configured_repository(path):
    first = read(path).cells[0]
    assert first.cell_type == "code", f"{path.name}: the first cell must be the Colab cell"
    assert "remove-cell" in first.metadata.get("tags", []), (
        f"{path.name}: the Colab cell must be tagged remove-cell so the book hides it"
    )
    assert '"google.colab" in sys.modules' in first.source, (
        f"{path.name}: the Colab cell must install only when running in Colab"
    )
    urls = re.findall(r"git\+(https://[^\s\"']+)", first.source)
    assert urls == [CONFIG["repository"]["url"]], (
        f"{path.name}: installs from {urls}, but _config.yml says {CONFIG['repository']['url']!r}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_the_parts_every_chapter_promises(path):
    nb = read(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^# Chapter \d+", text, re.M), f"{path.name}: no '# Chapter N' title"
    assert "glue(" in code and "{glue:" in text, f"{path.name}: no glued number in the prose"
    assert "ipywidgets" in code, f"{path.name}: no ipywidgets interaction"
    exercises = re.findall(r"^### Exercise \d+\.\d+", text, re.M)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, expected >= 3"
    solutions = [c for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
    assert len(solutions) >= len(exercises) or len(solutions) >= 3, (
        f"{path.name}: {len(solutions)} solution cells for {len(exercises)} exercises"
    )
    for cell in solutions:
        assert "hide-input" in cell.metadata.get("tags", []), (
            f"{path.name}: a solution cell is not collapsed (tag it hide-input)"
        )


# A plain ipywidgets.interact (or interactive, or @interact) draws controls that do nothing
# in the rendered book, which has no kernel; nnlib.book.interact precomputes their frames.
PLAIN_INTERACT = re.compile(
    r"\b(?:ipywidgets|widgets)\.(?:interact|interactive|interact_manual)\b"
    r"|^from ipywidgets(?:\.widgets)? import [^\n]*\binteract"
    r"|^\s*@interact",
    re.M,
)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_widgets_go_through_nnlib_book_interact(path):
    cells = [
        i
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code" and PLAIN_INTERACT.search(c.source)
    ]
    assert not cells, (
        f"{path.name}: cells {cells} call ipywidgets' interact directly; its controls would "
        "be dead in the rendered book. Use nnlib.book.interact(f, **controls) instead"
    )


SHOWS_FIGURE = re.compile(r"\bplt\.show\(|\bdisplay\(fig\b|\binteract\(")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_has_a_text_description(path):
    # The browser check (tests/browser/test_a11y.py) finds the same after a book build;
    # this says which cell, before one.
    missing = []
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or not SHOWS_FIGURE.search(cell.source):
            continue
        mystnb = cell.metadata.get("mystnb", {})
        alt = (mystnb.get("image") or {}).get("alt") or (mystnb.get("figure") or {}).get("caption")
        if not alt:
            missing.append(i)
    assert not missing, (
        f"{path.name}: cells {missing} draw a figure without a description; add "
        '"mystnb": {"image": {"alt": "what the figure shows"}} to the cell\'s metadata'
    )
