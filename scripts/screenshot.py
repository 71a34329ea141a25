"""Take the README's screenshot (book/_static/screenshot.png) from the built book.

Opens a chapter of ``_build/html`` in Debian's headless Chromium, offline, moves the first
slider of its first widget a few steps with the keyboard, as a reader would, and saves the
screen, the control and the frame it now shows included. Run after `make book`:

    .venv/bin/python scripts/screenshot.py [chapters/02_gradient_descent.html] [steps]
"""

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("NNFP_BUILD_DIR", ROOT / "_build" / "html"))
OUT = ROOT / "book" / "_static" / "screenshot.png"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(page_path="chapters/02_gradient_descent.html", steps=8):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not (SITE / page_path).exists():
        sys.exit(f"needs Chromium and a built book ({SITE / page_path}): run `make book`")
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/{page_path}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith(url[:22]) else r.abort()
        )
        page.goto(url, wait_until="networkidle")
        explorer = page.locator(".nnfp-explorer").first
        explorer.wait_for(timeout=30_000)
        handle = explorer.locator(".noUi-handle").first
        handle.focus()
        for _ in range(int(steps)):
            handle.press("ArrowRight")
        page.wait_for_timeout(1000)  # the new frame and MathJax settle
        # The widget in the lower part of the screen, its code above it.
        page.evaluate("(y) => window.scrollBy(0, y)", explorer.bounding_box()["y"] - 330)
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT))
        browser.close()
    httpd.shutdown()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
