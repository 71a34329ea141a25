"""Every internal link of the built book points at a page and an anchor that exist.

Sphinx's ``make linkcheck`` (external URLs ignored, so no network) runs in ``make test``
too; this test reads the built HTML itself, so a broken anchor inside a page or a link
into a page's section cannot slip through.
"""

import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("NNFP_BUILD_DIR", ROOT / "_build" / "html"))
# `make pdf` copies the book's PDF into the site. Where TeX is missing `make test` builds
# no PDF (tests/test_pdf.py says so and skips), and a link to it is not counted as broken.
PDF = SITE / "neural-networks-from-first-principles.pdf"
PDF_OPTIONAL = not os.environ.get("NNFP_REQUIRE_PDF") and not PDF.exists()

if not (SITE / "index.html").exists():
    why = f"no built book in {SITE}: run `make build-book` first"
    if os.environ.get("NNFP_REQUIRE_BROWSER"):  # set by .ci/run: there the book must exist
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and (tag, key) in {
                ("a", "href"),
                ("img", "src"),
                ("script", "src"),
                ("link", "href"),
            }:
                self.links.append(attrs[key])


def parse(path):
    collector = Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector


def test_internal_links_and_anchors_resolve():
    # _static/ holds the theme's Jinja templates, not pages.
    pages = {p: parse(p) for p in SITE.rglob("*.html") if "_static" not in p.parts}
    broken = []
    for page, info in pages.items():
        for link in info.links:
            if urlparse(link).scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target, anchor = urldefrag(link)
            target = urlparse(target).path  # drop ?v=... cache busters
            target_path = (page.parent / unquote(target)).resolve() if target else page
            if target_path.is_dir():
                target_path = target_path / "index.html"
            if not target_path.exists():
                if PDF_OPTIONAL and target_path == PDF.resolve():
                    continue
                broken.append(f"{page.relative_to(SITE)}: {link} (no such file)")
            elif anchor and target_path.suffix == ".html":
                ids = pages[target_path].ids if target_path in pages else parse(target_path).ids
                if unquote(anchor) not in ids:
                    broken.append(f"{page.relative_to(SITE)}: {link} (no anchor #{anchor})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:30])
