"""Sphinx extension: the text alternative of a widget's figure, carried into the HTML.

A chapter describes the figure a cell draws in the cell's metadata, as myst-nb reads it
(``"mystnb": {"image": {"alt": "..."}}``); myst-nb puts that text on the cell's static
images. A widget's figure is drawn later, in the browser, by the ipywidgets HTML manager,
which writes no alt text. This adds the cell's description next to the widget, in a
hidden ``<span class="nnfp-widget-alt" data-alt="...">``, and ``book/_extra/js/a11y.js``
puts it on the widget's image, with the settings of its controls. HTML builds only.
"""

import html

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def cell_alt(metadata):
    """The description a cell's metadata gives its figures, or None."""
    mystnb = metadata.get("mystnb", {}) if isinstance(metadata, dict) else {}
    image = mystnb.get("image", {}) or {}
    figure = mystnb.get("figure", {}) or {}
    return image.get("alt") or figure.get("caption")


class WidgetAltText(SphinxPostTransform):
    default_priority = 400
    formats = ("html",)

    def run(self, **kwargs):
        for cell in self.document.findall(nodes.container):
            if cell.get("nb_element") != "cell_code":
                continue
            alt = cell_alt(cell.get("cell_metadata", {}))
            views = [
                raw
                for raw in cell.findall(nodes.raw)
                if WIDGET_VIEW in raw.astext() and raw.get("format") == "html"
            ]
            if not alt or not views:
                continue
            span = f'<span class="nnfp-widget-alt" hidden data-alt="{html.escape(alt)}"></span>'
            views[0].parent.append(nodes.raw("", span, format="html"))


def setup(app):
    app.add_post_transform(WidgetAltText)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
