"""Sphinx extension for the PDF (LaTeX) build: the book's class and its numbering.

1. sphinx-jupyterbook-latex sets ``latex_theme = "jupyterBook"``, whose class loads tikz,
   pgfplots and bbm; bbm is not in Debian's ordinary TeX packages (only in the 500 MB
   texlive-fonts-extra). The book uses none of them, so this selects
   ``book/_latex/nnfpBook.cls``, the same class without them.
2. Numbering that matches the HTML book. The chapter titles already say "Chapter 3: ..."
   and the parts "Part I: ..."; LaTeX would number them again, from the front matter on
   ("4 Chapter 0: NumPy"). Here a chapter titled "Chapter N: T" becomes LaTeX chapter N
   titled T (its sections N.1, N.2, its figures N.1, ...), a part titled "Part R: T" part R
   titled T; the pages before the first chapter (how to use, notation, data) and the
   parts without a number are unnumbered, and the pages after the last chapter are
   appendices A, B, ... Cross-references keep the full titles ("Chapter 4: ...").

Only LaTeX builds are affected.
"""

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.builders.latex import LaTeXBuilder
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.fileutil import copy_asset_file

CLASS = Path(__file__).resolve().parents[1] / "_latex" / "nnfpBook.cls"
CHAPTER = re.compile(r"^Chapter (\d+):\s*(.+)$")
PART = re.compile(r"^Part ([IVXLC]+):\s*(.+)$")
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

# Commands the raw nodes below use; \nnfpnumbered restores the class's depth (2).
PREAMBLE = r"""
% book/_ext/pdf_book.py: numbering that matches the HTML book's titles.
\newcommand{\nnfpnumbered}{\setcounter{secnumdepth}{2}}
\newcommand{\nnfpunnumbered}{\setcounter{secnumdepth}{-1}}
\newcommand{\nnfpunnumberedpart}{\setcounter{secnumdepth}{-2}}
"""


def _roman(text):
    values = [ROMAN[c] for c in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v
               for i, v in enumerate(values))  # fmt: skip


def _use_book_class(app, config):
    if config.latex_theme == "jupyterBook":
        config.latex_theme = "nnfpBook"
    elements = config.latex_elements
    elements["preamble"] = elements.get("preamble", "") + PREAMBLE


def _copy_class(app):
    if isinstance(app.builder, LaTeXBuilder):
        copy_asset_file(str(CLASS), app.outdir)


def _retitle(title, text):
    """Replace the words of a section title, keeping the node (and its ids)."""
    title.children = [nodes.Text(text)]


class BookNumbering(SphinxPostTransform):
    """Set chapter and part numbers from the titles, on the assembled LaTeX doctree."""

    builders = ("latex",)
    default_priority = 800  # after sphinx-jupyterbook-latex has built the parts (700)

    def apply(self, **kwargs):
        if self.app.project.path2doc(self.document["source"]) != self.config.root_doc:
            return
        files = []
        for start in self.document.findall(addnodes.start_of_file):
            section = next((c for c in start.children if isinstance(c, nodes.section)), None)
            if section is None or not isinstance(section.children[0], nodes.title):
                continue
            files.append((start, section[0], start["docname"] in self.env.all_docs))
        chapters = [i for i, (_, title, is_doc) in enumerate(files)
                    if is_doc and CHAPTER.match(title.astext())]  # fmt: skip
        if not chapters:
            return
        in_appendix = False
        for i, (start, title, is_doc) in enumerate(files):
            text = title.astext()
            if not is_doc:  # a part, made from a caption of the table of contents
                match = PART.match(text)
                if match:
                    raw = rf"\nnfpnumbered\setcounter{{part}}{{{_roman(match[1]) - 1}}}"
                    _retitle(title, match[2])
                else:
                    raw = r"\nnfpunnumberedpart"
            elif CHAPTER.match(text):
                match = CHAPTER.match(text)
                raw = rf"\nnfpnumbered\setcounter{{chapter}}{{{int(match[1]) - 1}}}"
                _retitle(title, match[2])
            elif i < chapters[0]:
                raw = r"\nnfpunnumbered"
            elif i > chapters[-1]:
                raw = r"\nnfpnumbered" + ("" if in_appendix else r"\appendix")
                in_appendix = True
            else:
                raw = r"\nnfpnumbered"
            start.insert(0, nodes.raw("", raw + "\n", format="latex"))


def setup(app):
    # After sphinx-jupyterbook-latex's own config-inited handler (priority 500).
    app.connect("config-inited", _use_book_class, priority=900)
    app.connect("builder-inited", _copy_class, priority=900)
    app.add_post_transform(BookNumbering)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
