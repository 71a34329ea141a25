"""Sphinx extension: keep each <script> once per page.

Under Jupyter Book 1, sphinx-thebe registers its configuration script twice, and every
page then throws "Identifier 'THEBE_JS_URL' has already been declared" in the browser
(tests/browser catches it). This drops exact duplicates before the page is written.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # The copies differ only in filename None vs "" (an inline script either way).
        filename = getattr(js, "filename", js) or ""
        key = (str(filename), repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
