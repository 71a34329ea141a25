"""The book's own repository on GitHub, for `make colab-check`, which has no network.

In Colab a chapter may read a file of the book's repository from GitHub (Chapter 9 reads the
benchmark results in benchmarks/results/ with urllib, as a reader's /content holds no
checkout). scripts/colab_check.py puts this folder on the kernel's PYTHONPATH, so Python
imports this module at start-up, and sets NNFP_GITHUB_RAW (the repository's
raw.githubusercontent.com prefix) and NNFP_CHECKOUT (the snapshot of the checkout the check
installs nnlib from). Then urllib.request serves that prefix's URLs, at any ref, from the
snapshot: what GitHub will serve once the checkout is pushed, as the setup cell's pip install
is pointed at the same snapshot. A path the checkout lacks is a 404; every other URL goes to
the network as usual (and fails offline, as it should).
"""

import email.message
import io
import os
import urllib.error
import urllib.request
import urllib.response
from pathlib import Path

_PREFIX = os.environ.get("NNFP_GITHUB_RAW", "")
_CHECKOUT = os.environ.get("NNFP_CHECKOUT", "")


class _CheckoutHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        url = req.full_url
        if not url.startswith(_PREFIX):
            return super().https_open(req)
        _ref, _, path = url[len(_PREFIX) :].partition("/")
        file = Path(_CHECKOUT, path)
        if not file.is_file():
            raise urllib.error.HTTPError(url, 404, "Not Found", email.message.Message(), None)
        headers = email.message.Message()
        headers["Content-Length"] = str(file.stat().st_size)
        response = urllib.response.addinfourl(io.BytesIO(file.read_bytes()), headers, url, 200)
        response.msg = "OK"  # read by urllib's HTTPErrorProcessor, as for any https response
        return response


if _PREFIX and _CHECKOUT:
    urllib.request.install_opener(urllib.request.build_opener(_CheckoutHandler()))
