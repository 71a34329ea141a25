"""Every control of the rendered book changes what it drives, with no kernel (issue 22).

``nnlib.book.interact`` precomputes a widget's frames while the book is built and links
each control to them in the browser. Here Chromium (Debian's, through Playwright, every
request outside 127.0.0.1 blocked) moves every control: each slider through all its
values with the keyboard and once with the mouse, each menu through all its options.
After every move the page must show exactly one frame, the one precomputed for the values
the controls now read (its images and text equal those in the page's saved widget state),
and it must differ from the frame before. A control outside such a widget, which could
move without effect, fails the check, as does a console error or a request that leaves
the site.

``test_demo_*`` run on tests/widget_demo.py's demos, executed in a kernel as the build
runs them and embedded in a page with the book's own scripts; they need no built book,
and two of them break the page on purpose to show the check can fail. ``test_book_*``
run on every page of ``_build/html`` with widgets, and check the size budgets.
"""

import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from widget_state import explorers, frame_images, frame_text

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("NNFP_BUILD_DIR", ROOT / "_build" / "html"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
PAGE_BUDGET = 8e6  # bytes: a page with its images
SITE_BUDGET = 150e6  # bytes: all of _build/html

pytestmark = pytest.mark.browser


def _missing(why):
    # As in test_site.py: skip locally, fail in CI (.ci/run sets NNFP_REQUIRE_BROWSER=1).
    if os.environ.get("NNFP_REQUIRE_BROWSER"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


if CHROMIUM is None:
    _missing("Chromium is not installed (apt-get install chromium)")


def widget_pages():
    if not (SITE / "index.html").exists():
        return []
    return sorted(
        str(p.relative_to(SITE))
        for p in SITE.rglob("*.html")
        if not p.relative_to(SITE).parts[0].startswith(("_", "vendor")) and VIEW in p.read_text()
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


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


def open_page(browser, url):
    """Open ``url`` with requests outside its site blocked; return (page, problems)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    site = url.split("/", 3)[:3]
    local = "/".join(site)

    def route(r):
        if r.request.url.startswith(local) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            problems.append(f"request leaves the site: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.goto(url, wait_until="load")
    if page.locator(f"script[type='{VIEW}']").count():
        page.wait_for_selector(".jupyter-widgets", timeout=30_000)
    page.wait_for_load_state("networkidle")
    return page, problems


# What the page shows for explorer i: each control's kind, label and number of values, and
# the frames visible in it (values it was computed for, images, text).
READ = """(i) => {
  const ex = document.querySelectorAll('.nnfp-explorer')[i];
  const kids = [...ex.children];
  const controls = kids.slice(0, -1).map(el => {
    const sel = el.querySelector('select');
    if (sel) return {kind: 'select', n: sel.options.length,
                     label: sel.selectedIndex < 0 ? null  // the manager writes spaces as &nbsp;
                       : sel.options[sel.selectedIndex].text.replace(/\u00a0/g, ' ')};
    const handle = el.querySelector('.noUi-handle');
    if (handle) return {kind: 'slider', n: Number(handle.getAttribute('aria-valuemax')) + 1,
                        label: el.querySelector('.widget-readout').textContent.trim()};
    const radios = [...el.querySelectorAll('input[type=radio]')];
    if (radios.length) {
      const c = radios.findIndex(r => r.checked);
      return {kind: 'radio', n: radios.length,
              label: c < 0 ? null : radios[c].parentElement.textContent.trim()};
    }
    const buttons = [...el.querySelectorAll('button')];
    if (buttons.length) {
      const c = buttons.findIndex(b => b.classList.contains('mod-active'));
      return {kind: 'toggle', n: buttons.length,
              label: c < 0 ? null : buttons[c].textContent.trim()};
    }
    return {kind: 'unknown', n: 0, label: el.outerHTML.slice(0, 200)};
  });
  const frames = [...ex.querySelectorAll('.nnfp-frame')]
    .filter(f => f.getClientRects().length > 0)
    .map(f => ({values: JSON.parse(f.dataset.nnfpValues),
                imgs: [...f.querySelectorAll('img')].map(im => im.getAttribute('src')),
                loaded: [...f.querySelectorAll('img')]
                  .every(im => im.complete && im.naturalWidth > 0),
                text: [...f.querySelectorAll('pre')].map(p => p.textContent)}));
  return {controls, frames};
}"""

# The model id of each explorer, in document order (the HTML manager renders a view just
# before its <script type=widget-view+json>).
VIEWS = """() => [...document.querySelectorAll('.nnfp-explorer')].map(ex => {
  const area = ex.closest('.widget-subarea');
  const tag = area && area.nextElementSibling;
  return tag && tag.type === 'application/vnd.jupyter.widget-view+json'
    ? JSON.parse(tag.textContent).model_id : null;
})"""

# Anything a reader can operate in a widget that no explorer drives.
STRAY = """() => [...document.querySelectorAll(
    '.jupyter-widgets input, .jupyter-widgets select, .jupyter-widgets button, '
    + '.jupyter-widgets textarea, .jupyter-widgets .noUi-handle, '
    + '.jupyter-widgets [contenteditable=true]')]
  .filter(e => !e.closest('.nnfp-explorer') || e.closest('.nnfp-frame'))
  .map(e => e.closest('.jupyter-widgets').className + ': ' + e.outerHTML.slice(0, 120))"""


def frame_problem(shown, expected_frames):
    """Why the shown frame is not the precomputed one for the controls' labels (or None)."""
    labels = [c["label"] for c in shown["controls"]]
    if len(shown["frames"]) != 1:
        return f"{len(shown['frames'])} frames visible for {labels}"
    frame = shown["frames"][0]
    if frame["values"] != labels:
        return f"the controls read {labels} but the frame shown is the one for {frame['values']}"
    expected = expected_frames.get(tuple(labels))
    if expected is None:
        return f"no precomputed frame for {labels}"
    if frame["imgs"] != frame_images(expected) or frame["text"] != frame_text(expected):
        return f"the frame shown for {labels} is not the one precomputed for these values"
    if not frame["loaded"]:
        return f"the image of the frame for {labels} did not load"
    return None


def wait_for(page, i, previous, target_label, c):
    """Read explorer i until control c reads ``target_label`` and a new frame shows."""
    deadline = time.monotonic() + 5
    while True:
        shown = page.evaluate(READ, i)
        labels = [x["label"] for x in shown["controls"]]
        frames = [f["values"] for f in shown["frames"]]
        followed = len(frames) == 1 and (frames[0] == labels or frames != [
            f["values"] for f in previous["frames"]])  # fmt: skip
        if (labels[c] == target_label and followed) or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(50)


def check_explorers(page):
    """Move every control of every explorer on the page; return the problems found."""
    state_tag = page.locator(f"script[type='{STATE}']")
    state = json.loads(state_tag.first.text_content()) if state_tag.count() else {"state": {}}
    by_id = {e["id"]: e for e in explorers(state)}
    problems = [f"a control no precomputed frame follows: {s}" for s in page.evaluate(STRAY)]
    for i, model_id in enumerate(page.evaluate(VIEWS)):
        if model_id not in by_id:
            problems.append(f"explorer {i} ({model_id}) is not in the page's widget state")
            continue
        e = by_id[model_id]
        shown = page.evaluate(READ, i)
        if problem := frame_problem(shown, e["frames"]):
            problems.append(f"explorer {i} at the start: {problem}")
        for c, (_, labels, _) in enumerate(e["controls"]):
            control = page.locator(".nnfp-explorer").nth(i).locator(":scope > *").nth(c)
            kind = shown["controls"][c]["kind"]
            seen = shown["controls"][c]
            if seen["label"] not in labels or seen["n"] != len(labels):
                problems.append(f"explorer {i}, control {c} is not what the state says: {seen}")
                continue
            start = labels.index(shown["controls"][c]["label"])
            moves = [k for k in range(len(labels)) if k != start]
            if kind == "slider":
                moves = [0] + list(range(1, len(labels))) if start else moves
                moves += [len(labels) // 2] if len(labels) > 2 else []
            for step, k in enumerate(moves):
                before = shown
                mouse = kind == "slider" and step == len(moves) - 1 and len(labels) > 2
                move(page, control, kind, k, labels, before["controls"][c]["label"], mouse)
                shown = wait_for(page, i, before, labels[k], c)
                where = f"explorer {i}, control {c} moved to {labels[k]!r}"
                where += " with the mouse" if mouse else ""
                now = shown["controls"][c]["label"]
                if now != labels[k]:
                    problems.append(f"{where}: it reads {now!r}")
                elif problem := frame_problem(shown, e["frames"]):
                    problems.append(f"{where}: {problem}")
                elif [(f["imgs"], f["text"]) for f in shown["frames"]] == [
                    (f["imgs"], f["text"]) for f in before["frames"]
                ]:
                    problems.append(f"{where}: the output did not change")
    return problems


def move(page, control, kind, k, labels, current, mouse):
    """Set ``control`` to its k-th value as a reader would."""
    if kind == "select":
        control.locator("select").select_option(index=k)
    elif kind == "radio":
        control.locator("input[type=radio]").nth(k).check()
    elif kind == "toggle":
        control.locator("button").nth(k).click()
    elif mouse:  # drag the handle to the k-th of the slider's positions
        handle, track = control.locator(".noUi-handle"), control.locator(".noUi-base")
        h, t = handle.bounding_box(), track.bounding_box()
        page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
        page.mouse.down()
        x = t["x"] + t["width"] * k / (len(labels) - 1)
        page.mouse.move(x, h["y"] + h["height"] / 2, steps=8)
        page.mouse.up()
    else:  # keyboard: Home for the first value, then one step right at a time
        handle = control.locator(".noUi-handle")
        handle.focus()
        index = labels.index(current)
        key = "Home" if k == 0 else ("ArrowRight" if k > index else "ArrowLeft")
        for _ in range(1 if k == 0 else abs(k - index)):
            handle.press(key)


# --- the demo: tests/widget_demo.py as the build renders it ------------------------------


def demo_page(nb, directory, extra_state=None, extra_views=(), edit_state=None):
    """Write the executed demo notebook as a page with the book's widget scripts and CSS."""
    shutil.copytree(ROOT / "book" / "_extra", directory, dirs_exist_ok=True)
    state = json.loads(json.dumps(nb.metadata.widgets[STATE]))
    state["state"].update(extra_state or {})
    if edit_state:
        edit_state(state)
    body = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if VIEW in data:
                body.append(f'<script type="{VIEW}">{json.dumps(data[VIEW])}</script>')
            elif "text/html" in data:
                body.append(data["text/html"])
    for view in extra_views:
        body.append(f'<script type="{VIEW}">{json.dumps(view)}</script>')
    state_json = json.dumps(state).replace("</", "<\\/")
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>interact demo</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="../css/widgets.css">
<script src="../js/has-js.js"></script>
<script type="{STATE}">{state_json}</script>
<script src="../vendor/require.js"></script>
<script src="../vendor/html-manager/embed-amd.js"
        data-jupyter-widgets-cdn="vendor/no-cdn/"></script>
</head><body>{"".join(f'<div class="cell">{b}</div>' for b in body)}</body></html>"""
    (directory / "chapters").mkdir(exist_ok=True)
    (directory / "chapters" / "demo.html").write_text(page)


@pytest.fixture
def demo_site(tmp_path):
    httpd, url = serve(tmp_path)
    yield tmp_path, url + "chapters/demo.html"
    httpd.shutdown()
    httpd.server_close()


def test_demo_every_control_drives_its_precomputed_frames(browser, demo_site, widget_demo_build):
    directory, url = demo_site
    demo_page(widget_demo_build, directory)
    page, problems = open_page(browser, url)
    try:
        assert page.locator(".nnfp-explorer").count() == 4
        problems += check_explorers(page)
        assert not problems, "\n".join(problems)
        # The static grid is for print and pages without JavaScript.
        assert not page.locator(".nnfp-frames").first.is_visible()
        page.emulate_media(media="print")
        assert page.locator(".nnfp-frames").first.is_visible()
        assert not page.locator(".nnfp-explorer").first.is_visible()
    finally:
        page.close()


def test_demo_without_javascript_shows_the_static_frames(browser, demo_site, widget_demo_build):
    directory, url = demo_site
    demo_page(widget_demo_build, directory)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        grids = page.locator(".nnfp-frames")
        assert grids.count() == 4 and all(g.is_visible() for g in grids.all())
        assert page.locator(".nnfp-frames img").count() >= 8
    finally:
        context.close()


def test_demo_check_fails_for_a_control_without_frames(browser, demo_site, widget_demo_build):
    """A plain ipywidgets slider, as ipywidgets.interact leaves it in a static page."""
    import ipywidgets as widgets
    from ipywidgets.embed import embed_data

    dead = embed_data(views=[widgets.IntSlider(3, 0, 9, description="dead")])
    directory, url = demo_site
    demo_page(widget_demo_build, directory, dead["manager_state"]["state"], dead["view_specs"])
    page, _ = open_page(browser, url)
    try:
        problems = check_explorers(page)
        assert any(p.startswith("a control no precomputed frame follows") and "slider" in p
                   for p in problems), problems  # fmt: skip
    finally:
        page.close()


def test_demo_check_fails_for_frames_in_the_wrong_order(browser, demo_site, widget_demo_build):
    def swap(state):  # the last Stack of the "count" demo gets its first two frames swapped
        [count] = [e for e in explorers(state) if len(e["frames"]) == 6]
        [stack] = count["stacks"]
        kids = state["state"][stack]["state"]["children"]
        kids[0], kids[1] = kids[1], kids[0]

    directory, url = demo_site
    demo_page(widget_demo_build, directory, edit_state=swap)
    page, _ = open_page(browser, url)
    try:
        problems = check_explorers(page)
        assert any("the frame shown is the one for ['1']" in p for p in problems), problems
    finally:
        page.close()


# --- the built book ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_site():
    if not (SITE / "index.html").exists():
        _missing(f"no built book in {SITE}: run `make build-book` first")
    httpd, url = serve(SITE)
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", widget_pages() or ["(no built book)"])
def test_book_every_control_drives_its_precomputed_frames(browser, book_site, path):
    page, problems = open_page(browser, book_site + path)
    try:
        problems += check_explorers(page)  # a page may also hold widgets without controls
        assert not problems, f"{path}:\n" + "\n".join(problems)
    finally:
        page.close()


def test_book_pages_and_site_stay_within_their_size_budgets(book_site):
    import re
    from urllib.parse import unquote

    total = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    assert total < SITE_BUDGET, f"_build/html: {total / 1e6:.1f} MB, over {SITE_BUDGET / 1e6:.0f}"
    heavy = []
    for page in SITE.rglob("*.html"):
        size = page.stat().st_size
        for src in set(re.findall(r'<img[^>]+src="([^"#?]+)"', page.read_text())):
            target = (page.parent / unquote(src)).resolve()
            if not src.startswith("data:") and target.is_file():
                size += target.stat().st_size
        if size > PAGE_BUDGET:
            heavy.append(f"{page.relative_to(SITE)}: {size / 1e6:.1f} MB")
    assert not heavy, f"pages over {PAGE_BUDGET / 1e6:.0f} MB with their images: {heavy}"
