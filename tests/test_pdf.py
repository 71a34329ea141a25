"""The book as one PDF (``make pdf``, run by ``make test`` before pytest).

Checks the built PDF with poppler's tools: every page of the table of contents is in it,
no reference or citation is left unresolved ("??", "[?]"), LaTeX reported no error, every
figure of the executed notebooks made it onto a page, every widget is shown by its static
frame rather than its Python repr, two rendered pages are not blank, and the HTML site
carries the PDF and links to it.

Skips, saying how to install TeX, where the PDF was not built; ``.ci/run`` sets
``NNFP_REQUIRE_PDF=1``, and there a missing PDF fails instead.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import pdf_sources  # noqa: E402

NAME = "neural-networks-from-first-principles.pdf"
PDF = ROOT / "_build" / "pdf" / NAME
LOG = ROOT / "_build" / "pdf" / "latex.log"
SITE = ROOT / "_build" / "html"
STAGED = ROOT / "_build" / "pdf-src"


def _missing(why):
    if os.environ.get("NNFP_REQUIRE_PDF"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def pdf():
    if not PDF.exists():
        _missing(
            f"no PDF at {PDF.relative_to(ROOT)}: `make test` builds it where TeX is installed "
            "(apt-get install texlive-latex-recommended texlive-latex-extra "
            "texlive-fonts-recommended texlive-xetex fonts-freefont-otf latexmk poppler-utils)"
        )
    if not shutil.which("pdftotext"):
        _missing("poppler's tools are not installed (apt-get install poppler-utils)")
    return PDF


@pytest.fixture(scope="module")
def text(pdf):
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return out


def _flat(s):
    return re.sub(r"\s+", " ", s)


def _title(path):
    """The first '# ' heading of a page in the table of contents."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        lines = "".join("".join(c["source"]) + "\n" for c in cells if c["cell_type"] == "markdown")
    else:
        lines = path.read_text()
    for line in lines.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{path} has no '# ' title")


def _toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    pages = []
    for f in files:
        path = next(p for p in (ROOT / f"{f}.md", ROOT / f"{f}.ipynb") if p.exists())
        pages.append(path)
    return pages


def _page_info(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    return pages, info


def test_every_page_of_the_book_is_in_the_pdf(text):
    flat = _flat(text)
    missing = []
    for page in _toc_pages()[1:]:  # the root page's title is the book's, on the title page
        title = _title(page)
        # The PDF numbers chapters itself ("Chapter 3: Backprop" becomes "3 Backprop").
        match = re.match(r"Chapter (\d+):\s*(.+)", title)
        heading = f"{match[1]} {match[2]}" if match else title
        if _flat(heading) not in flat:
            missing.append(heading)
    assert not missing, f"chapters or pages missing from the PDF (or misnumbered): {missing}"


def test_page_count_and_size(pdf):
    pages, info = _page_info(pdf)
    size = pdf.stat().st_size
    print(f"{pdf.name}: {pages} pages, {size / 1e6:.1f} MB")
    assert pages >= 50, f"only {pages} pages: the book did not make it in whole\n{info}"
    assert size < 50e6, f"the PDF is {size / 1e6:.0f} MB; expected well under 50 MB"


def test_no_unresolved_references_or_citations(text):
    unresolved = [line.strip() for line in text.splitlines() if "??" in line or "[?]" in line]
    assert not unresolved, "unresolved references or citations:\n" + "\n".join(unresolved[:10])


def test_latex_reported_no_errors_or_undefined_references(pdf):
    assert LOG.exists(), f"no LaTeX log at {LOG}: was the PDF built by `make pdf`?"
    log = LOG.read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert not errors, "LaTeX errors:\n" + "\n".join(errors[:10])
    undefined = re.findall(r"(?:Reference|Citation) `[^']+' on page \d+ undefined", log)
    assert not undefined, f"undefined references: {undefined[:10]}"


def test_every_figure_is_in_the_pdf(pdf):
    figures = 0
    for nb_path in STAGED.glob("**/*.ipynb"):
        if "_build" in nb_path.relative_to(STAGED).parts:
            continue
        for cell in json.loads(nb_path.read_text())["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if "remove-cell" in tags or "remove-output" in tags:
                continue
            for out in cell.get("outputs", []):
                if any(k.startswith("image/") for k in out.get("data", {})):
                    figures += 1
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]  # fmt: skip
    images = sum(1 for row in listing if row.split()[2] == "image")
    assert figures > 0, "no figures found in the executed notebooks"
    assert images >= figures, f"{figures} figures in the notebooks, {images} images in the PDF"


def test_widgets_are_shown_by_their_static_frames(text):
    reprs = re.findall(r"(?:interactive|VBox|HBox|IntSlider|FloatSlider)\(children=", text)
    assert not reprs, f"{len(reprs)} widgets printed as Python reprs instead of frames"
    assert "Loading widget" not in text and "Error displaying widget" not in text
    # Every interact-style widget of the book is followed by a line naming its settings.
    assert "Interactive widget; shown for" in text


def test_two_pages_render_and_are_not_blank(pdf, tmp_path):
    if not shutil.which("pdftoppm"):
        _missing("pdftoppm is not installed (apt-get install poppler-utils)")
    from PIL import Image

    pages, _ = _page_info(pdf)
    # The title page, and a page from the middle of the book (text, code and figures).
    for page in (1, pages // 2):
        stem = tmp_path / f"page{page}"
        subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(stem)], check=True)  # fmt: skip
        image = Image.open(f"{stem}.png").convert("L")
        dark = sum(image.histogram()[:200]) / (image.width * image.height)
        assert dark > 0.002, f"page {page} renders (almost) blank: {dark:.2%} dark pixels"


def test_the_html_book_offers_the_pdf(pdf):
    copy = SITE / NAME
    assert copy.exists(), f"{copy} missing: `make pdf` copies the PDF into the site"
    assert copy.read_bytes() == pdf.read_bytes(), "the site's PDF is not the one just built"
    page = (SITE / "book" / "how-to-use.html").read_text()
    assert f'href="../{NAME}"' in page, "the How to use page does not link to the PDF"


# The staging script on its own, on a small notebook: no TeX needed.


def _widget_notebook():
    state = {
        "box": {"model_name": "VBoxModel",
                "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "slider": {"model_name": "FloatSliderModel",
                   "state": {"description": "$\\eta$", "value": 0.3}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=",
                                                     "text/plain": "<Figure>"}}]}},
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_html"]}},
        "html": {"model_name": "HTMLModel",
                 "state": {"description": "", "value": "100% 9/9 [00:01&lt;00:00]"}},
    }  # fmt: skip
    view = "application/vnd.jupyter.widget-view+json"
    return {
        "cells": [
            {"cell_type": "code", "id": "a", "source": "interact(f)", "metadata": {},
             "outputs": [{"output_type": "display_data", "metadata": {},
                          "data": {view: {"model_id": "box"}, "text/plain": "interactive(...)"}}]},
            {"cell_type": "code", "id": "b", "source": "fit()", "metadata": {},
             "outputs": [{"output_type": "display_data", "metadata": {},
                          "data": {view: {"model_id": "bar"}, "text/plain": "0%|"}}]},
        ],
        "metadata": {"widgets": {pdf_sources.WIDGET_STATE: {"state": state}}},
    }  # fmt: skip


def test_freeze_widgets_keeps_the_figure_and_names_the_settings():
    nb = _widget_notebook()
    assert pdf_sources.freeze_widgets(nb) == 2
    first, second = (cell["outputs"] for cell in nb["cells"])
    assert first[0]["data"]["image/png"] == "iVBORw0KGgo="
    assert "shown for $\\eta$ = 0.3" in first[1]["data"]["text/markdown"][0]
    assert second == [{"output_type": "stream", "name": "stdout",
                       "text": ["100% 9/9 [00:01<00:00]\n"]}]  # fmt: skip


def test_outputs_are_refused_when_the_code_changed_since_the_run():
    executed = _widget_notebook()
    source = json.loads(json.dumps(executed))
    for cell in source["cells"]:
        cell["outputs"] = []
    source["cells"].insert(0, {"cell_type": "markdown", "id": "m", "source": "new prose"})
    merged = pdf_sources.with_outputs(source, executed)
    assert merged["cells"][0]["source"] == "new prose"
    assert merged["cells"][1]["outputs"] == executed["cells"][0]["outputs"]
    source["cells"][1]["source"] = "interact(g)"
    with pytest.raises(pdf_sources.Stale, match="changed since it was executed"):
        pdf_sources.with_outputs(source, executed)


def test_hidden_glue_values_are_restored():
    nb = {"cells": []}
    scrapbook = {"name": "acc", "mime_prefix": pdf_sources.GLUE_PREFIX}
    glued = {"acc": {"output_type": "display_data", "data": {"text/plain": "0.93"},
                     "metadata": {"scrapbook": scrapbook}}}  # fmt: skip
    assert pdf_sources.restore_glue(nb, glued) == 1
    (out,) = nb["cells"][0]["outputs"]
    assert out["data"] == {pdf_sources.GLUE_PREFIX + "text/plain": "0.93"}
    assert "remove-cell" in nb["cells"][0]["metadata"]["tags"]


def test_an_interact_widget_is_shown_by_the_frame_it_starts_on(widget_demo_build):
    """nnlib.book.interact's widgets: the start frame's figure or text, and its settings."""
    from widget_state import explorers, frame_images

    nb = json.loads(json.dumps(widget_demo_build))  # a plain dict, as the script reads it
    wave = explorers(nb["metadata"]["widgets"][pdf_sources.WIDGET_STATE])[0]
    start = wave["frames"][("1.00", "sin")]
    assert pdf_sources.freeze_widgets(nb) == 4
    outputs = [cell["outputs"] for cell in nb["cells"][1:]]
    assert [len(o) for o in outputs] == [2, 2, 2, 2]  # the HTML page's frame grid is gone
    figure, note = outputs[0]
    assert "data:image/png;base64," + figure["data"]["image/png"] == frame_images(start)[0]
    assert "shown for $f$ = 1.00, kind = sin" in note["data"]["text/markdown"][0]
    printed, note = outputs[1]
    assert printed["text"] == ["** (2)\n"] and "shown for n = 2" in note["data"]["text/plain"][0]
