"""The book's colour-blind-safe plotting style (nnlib.style), set once by nnlib.book.

The palette is checked the way a reader with a colour-vision deficiency would see it:
each colour is passed through Machado, Oliveira and Fernandes' (2009) simulation of
protanopia, deuteranopia and tritanopia (full severity), and every pair must stay at least
``MIN_DELTA_E`` apart in CIELAB. matplotlib's default palette fails this (its blue and
purple, orange and green merge for protanopes), which shows the check can fail.
"""

import itertools
import json
import re
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from nnlib import style

ROOT = Path(__file__).resolve().parents[1]
MIN_DELTA_E = 12.0  # CIELAB distance; about 2.3 is "just noticeable", 10+ is "clearly different"

# Machado et al. 2009, severity 1.0, acting on linear RGB.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}  # fmt: skip


def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear_rgb  # fmt: skip
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])  # D65 white
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colors, deficiency):
    """Smallest CIELAB distance between two of ``colors`` as seen with ``deficiency``."""
    m = np.array(CVD[deficiency])
    labs = [_lab(np.clip(m @ _linear(to_rgb(c)), 0, 1)) for c in colors]
    return min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))


@pytest.mark.parametrize("deficiency", sorted(CVD))
def test_palette_stays_distinct_for_colour_blind_readers(deficiency):
    distance = closest_pair(style.PALETTE, deficiency)
    assert distance >= MIN_DELTA_E, (
        f"under {deficiency} two palette colours are only {distance:.1f} apart in CIELAB; "
        f"expected at least {MIN_DELTA_E}"
    )


def test_the_check_rejects_matplotlibs_default_palette():
    default = mpl.rcParamsDefault["axes.prop_cycle"].by_key()["color"]
    assert closest_pair(default[:4], "protanopia") < MIN_DELTA_E


def test_importing_nnlib_book_sets_the_style():
    import nnlib.book  # noqa: F401  (sets the style on first import)

    mpl.rcParams.update(mpl.rcParamsDefault)  # as a fresh kernel would start
    style.use()
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == style.PALETTE
    assert mpl.rcParams["image.cmap"] == "viridis"
    mpl.rcParams.update(mpl.rcParamsDefault)


def _chapter_code():
    pages = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")) + [ROOT / "book/speed.ipynb"]
    for path in pages:
        cells = json.loads(path.read_text())["cells"]
        yield path, [("".join(c["source"])) for c in cells if c["cell_type"] == "code"]


def test_every_chapter_imports_nnlib_book_so_the_style_applies():
    missing = [p.name for p, code in _chapter_code() if not any("nnlib.book" in c for c in code)]
    assert not missing, f"pages that never import nnlib.book, so plot without the style: {missing}"


# Colours a chapter may name itself: the palette's own ("C0".."C7", its hex codes) and greys.
NEUTRAL = {"k", "black", "w", "white", "grey", "gray", "lightgrey", "lightgray", "darkgrey",
           "darkgray", "silver", "none"}  # fmt: skip
# Colour maps that read in order for every colour-vision type (perceptually uniform, or
# ColorBrewer's colour-blind-safe ones).
SAFE_CMAPS = {"viridis", "cividis", "magma", "inferno", "plasma", "Greys", "gray", "Blues",
              "Oranges", "Purples", "RdBu", "PuOr", "BrBG"}  # fmt: skip
# Named colours a chapter uses on purpose, with the reason it reads for every reader.
EXCEPTIONS = {
    ("06_convolution.ipynb", "tab:red"): "one highlight box drawn over a blue-and-white image",
}
COLOR_ARG = re.compile(r"\b(?:color|c|colors|edgecolor|facecolor)\s*=\s*[\"']([^\"']+)[\"']")
CMAP_ARG = re.compile(r"\bcmap\s*=\s*[\"']([^\"']+)[\"']")


def _allowed_colour(name):
    if re.fullmatch(r"C\d", name) or name.lower() in NEUTRAL:
        return True
    if re.fullmatch(r"0?\.\d+|1(\.0*)?|0", name):  # a grey level, e.g. "0.6"
        return True
    return name.upper() in style.PALETTE


def test_chapters_draw_with_the_palette_and_safe_colour_maps():
    problems = []
    for path, code in _chapter_code():
        for cell in code:
            for name in COLOR_ARG.findall(cell):
                if not _allowed_colour(name) and (path.name, name) not in EXCEPTIONS:
                    problems.append(f"{path.name}: color {name!r} (use 'C0'..'C7' or a grey)")
            for cmap in CMAP_ARG.findall(cell):
                if cmap.removesuffix("_r") not in SAFE_CMAPS:
                    problems.append(f"{path.name}: cmap {cmap!r} (use viridis, cividis, RdBu, ...)")
    assert not problems, "colours outside the colour-blind-safe style:\n" + "\n".join(problems)
