"""Lay out the book's sources for the PDF build, with the notebooks the HTML build executed.

``make pdf`` does not execute the chapters a second time: the HTML build (``make book`` or
``make build-book``) leaves every executed notebook in ``_build/jupyter_execute/``. This
script builds a source tree in ``_build/pdf-src/`` that links to the repository's files,
except that

- each notebook carries the outputs of its executed copy, so the PDF shows the numbers and
  figures of the HTML book, and ``_config.yml`` turns execution off. If a code cell has
  changed since that run, the script stops (exit status 3) and asks for a new HTML build;
- each widget's output becomes its static frame: the figure the widget drew when the
  chapter ran (for ``nnlib.book.interact``, the frame its controls start on), and a line
  naming the controls and their values. On paper a slider is nothing, and LaTeX would
  otherwise print the widget's Python repr.

Usage: python scripts/pdf_sources.py [--executed _build/jupyter_execute] [--out _build/pdf-src]
"""

import argparse
import copy
import html
import json
import os
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
GLUE_PREFIX = "application/papermill.record/"  # myst-nb's prefix for hidden glue values
SKIP = {".git", ".venv", "_build", "node_modules", ".pytest_cache", ".ruff_cache", ".hypothesis"}
IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
# nnlib.book.interact's frames: HTML with inline PNGs and printed text.
PNG_SRC = r'src="data:image/png;base64,([^"]+)"'
PRE = r'<pre class="nnfp-text">(.*?)</pre>'


def _model(state, ref):
    """The saved model that ``ref`` ("IPY_MODEL_<id>" or a bare id) points to, or None."""
    if not isinstance(ref, str):
        return None
    return state.get(ref.removeprefix("IPY_MODEL_"))


def _walk(state, model_id, seen=None):
    """Every model reachable from ``model_id`` through children, in display order."""
    seen = set() if seen is None else seen
    model = _model(state, model_id)
    if model is None or model_id in seen:
        return
    seen.add(model_id)
    yield model
    children = model.get("state", {}).get("children", [])
    if model.get("model_name") == "StackModel":  # only the child it shows
        index = model["state"].get("selected_index")
        children = children[index : index + 1] if isinstance(index, int) and index >= 0 else []
    for child in children:
        yield from _walk(state, child.removeprefix("IPY_MODEL_"), seen)


def _control_text(model):
    """'description = value' for a control with a description, else None."""
    s = model.get("state", {})
    label = s.get("description")
    if not label or model.get("model_name") in ("ButtonModel", "LabelModel", "HTMLModel"):
        return None
    if "_options_labels" in s and isinstance(s.get("index"), int):
        value = s["_options_labels"][s["index"]]
    elif "_options_labels" in s and isinstance(s.get("index"), list):
        value = ", ".join(s["_options_labels"][i] for i in s["index"])
    elif "value" in s and not isinstance(s["value"], dict):
        value = s["value"]
    else:
        return None
    return f"{label} = {value}"


def _display_text(model):
    """The text a display-only widget shows (an HTML or Label value, a progress count)."""
    s, name = model.get("state", {}), model.get("model_name", "")
    if name in ("HTMLModel", "LabelModel", "HTMLMathModel") and s.get("value"):
        return html.unescape(re.sub(r"<[^>]+>", "", str(s["value"]))).replace("\u2007", " ")
    return None


def static_frame(view, state):
    """The outputs that stand for one widget view on paper: its figures and its settings."""
    model_id = view["model_id"]
    frames, settings, texts, printed = [], [], [], []
    for model in _walk(state, model_id):
        s = model.get("state", {})
        value = str(s.get("value", ""))
        if model.get("model_name") == "HTMLModel" and 'class="nnfp-frame"' in value:
            # A frame nnlib.book.interact precomputed: its figures (and printed text).
            frames += [{"image/png": png} for png in re.findall(PNG_SRC, value)]
            printed += [html.unescape(t) for t in re.findall(PRE, value, flags=re.S)]
            continue
        if model.get("model_name") == "OutputModel":
            for out in s.get("outputs", []):
                data = out.get("data", {})
                if any(m in data for m in IMAGES):
                    frames.append({k: v for k, v in data.items() if k in IMAGES})
        text = _control_text(model)
        if text:
            settings.append(text)
        shown = _display_text(model)
        if shown:
            texts.append(shown)
    outputs = [{"output_type": "stream", "name": "stdout", "text": [t]} for t in printed]
    outputs += [
        {"output_type": "display_data", "metadata": {}, "data": {**f, "text/plain": ["<Figure>"]}}
        for f in frames
    ]
    if texts and not (frames or settings):  # a progress bar, a status line: its last text
        line = " ".join(texts)
        return [{"output_type": "stream", "name": "stdout", "text": [line + "\n"]}]
    if settings or not frames:
        shown = ("; shown for " + ", ".join(settings)) if settings else ""
        note = f"*Interactive widget{shown}. Move its controls in Jupyter, Colab or the HTML book.*"
        outputs.append(
            {"output_type": "display_data", "metadata": {},
             "data": {"text/markdown": [note], "text/plain": [note]}}
        )  # fmt: skip
    return outputs


def freeze_widgets(nb):
    """Replace every widget view in ``nb`` (an nbformat dict) by its static frame, in place.

    Returns the number of widget views replaced.
    """
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        new_outputs = []
        for out in cell.get("outputs", []):
            if 'class="nnfp-frames"' in "".join(out.get("data", {}).get("text/html", "")):
                continue  # the HTML page's grid of frames (for print); the PDF shows one
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(out)
                continue
            new_outputs.extend(static_frame(view, state))
            replaced += 1
        cell["outputs"] = new_outputs
    return replaced


def restore_glue(nb, glued):
    """Put the values a chapter glued back into ``nb``, in a hidden cell at its end.

    myst-nb moves hidden glue outputs out of the executed notebook into ``<name>.glue.json``
    (``glued``: name -> output); the PDF build reads them from the notebook again.
    """
    present = {
        out.get("metadata", {}).get("scrapbook", {}).get("name")
        for cell in nb.get("cells", [])
        for out in cell.get("outputs", [])
    }
    outputs = []
    for name, out in glued.items():
        if name in present:
            continue
        data = {k.removeprefix(GLUE_PREFIX): v for k, v in out.get("data", {}).items()}
        outputs.append({
            "output_type": "display_data",
            "metadata": {"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}},
            "data": {GLUE_PREFIX + k: v for k, v in data.items()},
        })  # fmt: skip
    if outputs:
        nb["cells"].append({
            "cell_type": "code", "execution_count": None, "id": "nnfp-pdf-glue",
            "metadata": {"tags": ["remove-cell"]}, "outputs": outputs, "source": "",
        })  # fmt: skip
    return len(outputs)


def _link(src, dst):
    dst.symlink_to(os.path.relpath(src, dst.parent), target_is_directory=src.is_dir())


def toc_notebooks(toc):
    """Paths (relative to the root) of the notebooks that ``_toc.yml`` names."""
    found = []

    def visit(entry):
        if isinstance(entry, dict):
            for key in ("root", "file"):
                if key in entry and (ROOT / f"{entry[key]}.ipynb").exists():
                    found.append(Path(f"{entry[key]}.ipynb"))
            for value in entry.values():
                if isinstance(value, list):
                    for item in value:
                        visit(item)

    visit(toc)
    return found


class Stale(Exception):
    """The executed notebook does not belong to the current source."""


def _code(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def with_outputs(source, executed):
    """The current ``source`` notebook with the outputs of its ``executed`` copy.

    Markdown may have changed since the run (it is taken from ``source``); code may not:
    a code cell whose text differs raises :class:`Stale`, since its outputs would lie.
    """
    code = [c for c in source["cells"] if c.get("cell_type") == "code"]
    ran = [c for c in executed["cells"] if c.get("cell_type") == "code"]
    if len(code) != len(ran):
        raise Stale(f"{len(code)} code cells now, {len(ran)} when it was executed")
    nb = copy.deepcopy(source)
    cells = iter(ran)
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        done = next(cells)
        if _code(cell) != _code(done):
            raise Stale(f"code cell {cell.get('id', '?')} changed since it was executed")
        cell["outputs"] = done.get("outputs", [])
        cell["execution_count"] = done.get("execution_count")
    for key in ("widgets", "kernelspec", "language_info"):
        if key in executed.get("metadata", {}):
            nb.setdefault("metadata", {})[key] = executed["metadata"][key]
    return nb


def _mirror(src_dir, dst_dir, executed, notebooks, rel=Path()):
    """Link ``src_dir`` into ``dst_dir``, but write ``notebooks`` with their outputs."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for src in sorted(src_dir.iterdir()):
        path = rel / src.name
        if src.name in SKIP or path == Path("_config.yml"):
            continue
        dst = dst_dir / src.name
        if path in notebooks:
            done = executed / path
            if not done.exists():
                raise Stale(f"no executed copy of {path} in {executed}")
            try:
                nb = with_outputs(json.loads(src.read_text()), json.loads(done.read_text()))
            except Stale as e:
                raise Stale(f"{path}: {e}") from None
            glue = done.with_suffix(".glue.json")
            restore_glue(nb, json.loads(glue.read_text()) if glue.exists() else {})
            freeze_widgets(nb)
            dst.write_text(json.dumps(nb))
        elif src.is_dir() and any(path in nb.parents for nb in notebooks):
            _mirror(src, dst, executed, notebooks, path)
        else:
            _link(src, dst)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=ROOT / "_build" / "jupyter_execute")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf-src")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    notebooks = toc_notebooks(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    try:
        _mirror(ROOT, args.out, args.executed.resolve(), set(notebooks))
    except Stale as e:
        print(
            f"pdf_sources: {e}.\nThe PDF reuses the notebooks the HTML build executed; "
            "run `make book` (or `make build-book`) first.",
            file=sys.stderr,
        )
        return 3

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    # The notes that stand for widgets name controls such as $\eta$: parse them as MyST.
    config.setdefault("sphinx", {}).setdefault("config", {})["nb_render_markdown_format"] = "myst"
    (args.out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"pdf_sources: {len(notebooks)} executed notebooks laid out in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
