"""The built book in a real browser, offline (issue 10).

Serves ``_build/html`` (or ``$NNFP_BUILD_DIR``) on 127.0.0.1 and opens every page in
Debian's headless Chromium through Playwright, with every request that leaves 127.0.0.1
blocked, so a page that needs a CDN fails here. For each page: no failed requests and no
page errors, math typeset by MathJax, every image loaded, every widget rendered from its
saved state, and (chapters) a Colab link to that chapter's notebook. Screenshots of each
chapter's first screen go to ``_build/screenshots/``.

Skips, saying why, when Chromium or the built book is missing.
"""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("NNFP_BUILD_DIR", ROOT / "_build" / "html"))
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
SKIP_PAGES = {"genindex.html", "search.html", "index.html"}  # index.html only redirects

pytestmark = pytest.mark.browser
# Locally these checks skip when something is missing; CI (.ci/run) sets
# NNFP_REQUIRE_BROWSER=1, and there a missing browser or book fails the run instead.


def _missing(why):
    if os.environ.get("NNFP_REQUIRE_BROWSER"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)


if CHROMIUM is None:
    _missing("Chromium is not installed (apt-get install chromium)")
if not (SITE / "index.html").exists():
    _missing(f"no built book in {SITE}: run `make build-book` first")

PAGES = sorted(
    str(p.relative_to(SITE))
    for p in SITE.rglob("*.html")
    if p.name not in SKIP_PAGES and not p.relative_to(SITE).parts[0].startswith(("_", "vendor"))
)


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        yield b
        b.close()


def open_page(browser, server, path):
    """Load one page offline; return (page, problems) once math and widgets have settled."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    local = server.rstrip("/")

    def route(r):
        if r.request.url.startswith(local):
            r.continue_()
        else:
            problems.append(f"request leaves the machine: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"),
    )
    page.goto(server + path, wait_until="load")
    # MathJax 3 typesets asynchronously; wait for it where it is on the page.
    page.evaluate(
        "async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        " await MathJax.startup.promise; }"
    )
    if page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
        page.wait_for_selector(".widget-container, .jupyter-widgets, .widget-inline-hbox",
                               timeout=30_000)  # fmt: skip
    page.wait_for_load_state("networkidle")
    return page, problems


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_offline(browser, server, path):
    page, problems = open_page(browser, server, path)
    try:
        assert not problems, f"{path}: " + "; ".join(problems)

        # Math: MathJax containers present where the source has math, no raw TeX left.
        has_math = page.locator(".math, .MathJax, mjx-container").count() > 0
        if has_math:
            assert page.locator("mjx-container").count() > 0, f"{path}: math not typeset"
        text = page.inner_text("article")
        leftovers = re.findall(r"\\\(|\\\[|\$\$", text)
        assert not leftovers, f"{path}: raw TeX delimiters left on the page: {leftovers[:3]}"

        # Images: every one loaded.
        broken = page.evaluate(
            "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src)"
        )
        assert not broken, f"{path}: images that did not load: {broken}"

        # Widgets: each saved view rendered, none stuck or failed.
        views = page.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
        if views:
            rendered = page.locator(".jupyter-widgets").count()
            assert rendered >= views, f"{path}: {views} widget views, {rendered} rendered"
            body = page.inner_text("body")
            assert "Loading widget" not in body, f"{path}: a widget never rendered"
            assert "Error displaying widget" not in body, f"{path}: a widget failed"
            # Labels such as $\eta$ are typeset as in Jupyter (book/_extra/js/mathjax2-hub.js).
            page.wait_for_timeout(500)
            labels = page.locator(".widget-label").all_inner_texts()
            raw = [t for t in labels if "$" in t or "\\(" in t]
            assert not raw, f"{path}: widget labels left as raw TeX: {raw[:3]}"

        # Chapters: a screenshot, and a Colab link to this very notebook.
        if path.startswith("chapters/"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / (Path(path).stem + ".png")))
            repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
            branch = CONFIG["repository"].get("branch", "main")
            expected = (
                f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
                f"chapters/{Path(path).stem}.ipynb"
            )
            links = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href)")
            colab = [link for link in links if "colab.research.google.com" in link]
            assert expected in colab, f"{path}: Colab links {colab}, expected {expected}"
    finally:
        page.close()


def test_search_finds_a_chapter(browser, server):
    page, problems = open_page(browser, server, "search.html?q=backpropagation")
    try:
        page.wait_for_selector("#search-results li", timeout=30_000)
        results = page.inner_text("#search-results")
        assert "Backpropagation" in results, results[:500]
        assert not problems, problems
    finally:
        page.close()


def test_index_redirects_to_the_intro(browser, server):
    page = browser.new_page()
    try:
        page.goto(server + "index.html")
        page.wait_for_url("**/book/intro.html", timeout=30_000)
        assert "Neural Networks from First Principles" in page.title()
    finally:
        page.close()


def test_every_chapter_page_was_checked():
    chapters = {p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")}
    built = {Path(p).stem for p in PAGES if p.startswith("chapters/")}
    assert chapters <= built, f"chapters missing from the built site: {chapters - built}"
