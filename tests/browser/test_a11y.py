"""Accessibility of the built book, in the browser (issue 24).

For every page, in Debian's headless Chromium through Playwright (the set-up of
test_site.py, offline):

- axe-core (tests/browser/vendor/axe-core, from npm; for the tests only, never part of the
  site) finds no serious or critical violation of its WCAG 2 and best-practice rules;
- every image in the text has a text alternative that describes it: not empty, not a file
  name (what Sphinx writes when a cell gives none), and for a widget's figure, the
  description its cell gives (book/_ext/a11y.py, book/_extra/js/a11y.js);
- every formula carries MathJax's assistive MathML, which screen readers read out.

- on a page with widgets, with the keyboard only: pressing Tab from the top of the page
  reaches every control of every widget, and a slider moves with the arrow keys.

Skips, like test_site.py, when Chromium or the built book is missing.
"""

import json
from pathlib import Path

import pytest
from test_site import PAGES, SITE, browser, open_page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDGET_PAGES = [
    p for p in PAGES if "application/vnd.jupyter.widget-view+json" in (SITE / p).read_text()
]
CONTROLS = (
    ".jupyter-widgets :is(input, select, textarea, button, [role=slider], [contenteditable=true])"
)


def test_axe_is_vendored_for_the_tests_only():
    assert AXE.exists() and AXE.stat().st_size > 100_000, f"axe-core missing: {AXE}"
    shipped = [p for p in SITE.rglob("axe*.js")]
    assert not shipped, f"axe-core must not ship with the site: {shipped}"


def check_keyboard(page, path):
    """Tab from the top reaches every widget control; a slider moves with the arrow keys."""
    total = page.evaluate(
        """(sel) => {
            window.__reached = new Set();
            document.addEventListener('focusin', e => window.__reached.add(e.target));
            const visible = el => el.offsetParent !== null && !el.disabled;
            window.__controls = [...document.querySelectorAll(sel)].filter(visible);
            return document.querySelectorAll(
                'a[href], button, input, select, textarea, [tabindex]').length;
        }""",
        CONTROLS,
    )
    controls = page.evaluate("() => window.__controls.length")
    assert controls > 0, f"{path}: widgets, but no controls found"
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    for _ in range(total + 20):
        page.keyboard.press("Tab")
    missed = page.evaluate(
        """() => window.__controls.filter(c => !window.__reached.has(c)).map(c =>
            (c.closest('.widget-inline-hbox')?.querySelector('.widget-label')?.textContent
             || c.tagName) + ' ' + (c.getAttribute('role') || c.type || ''))"""
    )
    assert not missed, f"{path}: Tab never reaches {len(missed)} of {controls}: {missed}"

    slider = page.locator(".jupyter-widgets [role=slider]").first
    if slider.count():
        # noUiSlider rounds aria-valuenow to one decimal; aria-valuetext is the value.
        before = slider.get_attribute("aria-valuetext")
        slider.focus()
        page.keyboard.press("ArrowRight")
        if slider.get_attribute("aria-valuetext") == before:  # it was at its maximum
            page.keyboard.press("ArrowLeft")
        after = slider.get_attribute("aria-valuetext")
        assert after != before, f"{path}: the arrow keys do not move {json.dumps(before)}"


@pytest.mark.parametrize("path", PAGES)
def test_page_is_accessible(browser, server, path):  # noqa: F811
    page, problems = open_page(browser, server, path)
    try:
        assert not problems, f"{path}: " + "; ".join(problems)
        page.wait_for_timeout(300)  # the widgets' last mutations, and a11y.js after them
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations
                  .filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}x) at ` +
                            v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }"""
        )
        assert not found, f"{path}: axe-core found\n" + "\n".join(found)

        images = page.evaluate(
            """() => [...document.querySelectorAll('article img')].map(img => ({
                src: img.src.slice(0, 80), alt: img.getAttribute('alt'),
                widget: !!img.closest('.jupyter-widgets') }))"""
        )
        bad = []
        for img in images:
            alt = (img["alt"] or "").strip()
            if len(alt) < 15 or alt.lower().endswith((".png", ".jpg", ".svg")) or "_images/" in alt:
                bad.append(f"{img['src']}: alt={alt!r}")
            elif img["widget"] and alt.startswith("Figure drawn by the widget"):
                bad.append(f"{img['src']}: the widget's cell gives no mystnb.image.alt")
        assert not bad, f"{path}: images without a description:\n" + "\n".join(bad)

        math = page.evaluate(
            """() => [document.querySelectorAll('mjx-container').length,
                      document.querySelectorAll('mjx-container mjx-assistive-mml math').length]"""
        )
        assert math[0] == math[1], f"{path}: {math[0]} formulas, {math[1]} with assistive MathML"

        if path in WIDGET_PAGES:  # last: it moves the focus and a slider
            check_keyboard(page, path)
    finally:
        page.close()
