"""The book's plotting style: colours every reader can tell apart. Introduced in Chapter 0.

One reader in twelve men (one in two hundred women) sees colour differently; red against
green, the default of many plots, is the pair most of them cannot separate. Every plot in
the book therefore draws its lines from the Okabe-Ito palette (Okabe and Ito, "Color
Universal Design", 2008), whose eight colours stay distinct under protanopia, deuteranopia
and tritanopia, and shows images with perceptually uniform colour maps (viridis for
magnitudes, RdBu for signed values).

``nnlib.book`` calls :func:`use` when a chapter imports it, so the style is set in one
place: a chapter that writes ``color="C1"`` gets the palette's second colour, in Jupyter,
in Colab and in the built book alike.
"""

import matplotlib as mpl

__all__ = ["PALETTE", "use"]

# Okabe-Ito, ordered so that the first colours are the most distinct from one another:
# blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

RC = {
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "image.cmap": "viridis",
}


def use():
    """Set the book's colour-blind-safe palette and colour map for every later plot."""
    mpl.rcParams.update(RC)
