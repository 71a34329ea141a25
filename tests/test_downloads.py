"""The executed notebooks a reader downloads from the built book (the .ipynb button).

Each must hold what its cells printed, once: myst-nb's stream merging used to leave every
line printed after a cell's first stream message twice in the download (book/_ext/
stream_copies.py). Skips, saying why, when the book has not been built (`make build-book`).
"""

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("NNFP_BUILD_DIR", ROOT / "_build" / "html"))
# The button serves _sources/, a copy of myst-nb's executed notebooks in jupyter_execute/.
DOWNLOADS = sorted((SITE / "_sources" / "chapters").glob("*.ipynb")) + sorted(
    (SITE.parent / "jupyter_execute" / "chapters").glob("*.ipynb")
)


@pytest.mark.skipif(not DOWNLOADS, reason=f"no built book in {SITE}: run `make build-book`")
@pytest.mark.parametrize("path", DOWNLOADS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_downloaded_notebook_prints_each_line_once(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        streams = [o for o in cell.get("outputs", []) if o.output_type == "stream"]
        for name in ("stdout", "stderr"):
            texts = [o.text.strip() for o in streams if o.name == name and o.text.strip()]
            for j, later in enumerate(texts[1:], start=1):
                repeated = [k for k in range(j) if later in texts[k]]
                assert not repeated, (
                    f"{path.name}, cell {i}: {name} output {j} ({later[:60]!r}...) is repeated "
                    f"in output {repeated[0]}"
                )
