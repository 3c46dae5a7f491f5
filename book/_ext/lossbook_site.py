"""Small Sphinx additions for the lossbook site (loaded through _config.yml, local_extensions).

- ``static/lossbook.css``: long identifiers, signatures and the general index wrap on a phone
  screen instead of making the page scroll sideways.
- Sphinx 7.4 emits an inline script twice when an extension adds it after the builder has
  started (it is registered once as ``None`` and once as ``''``). For sphinx-thebe the second
  copy redeclares ``const THEBE_JS_URL`` and every page logs a JavaScript error, so each page
  keeps only the first copy of every script.
- Interactive figures (``lossbook.interactive``): the Vega libraries are written to
  ``_static/lossbook-vega.js`` from vl-convert's bundle (served by the site, never a CDN) and
  loaded only by the pages that hold such a figure.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app, config) -> None:
    config.html_static_path.append(str(STATIC))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def load_vega_where_needed(app, pagename, templatename, context, doctree) -> None:
    from lossbook.interactive import BUNDLE_NAME, MARKER

    if MARKER in (context.get("body") or ""):
        app.add_js_file(BUNDLE_NAME)  # inside html-page-context: this page only


def write_vega_bundle(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from lossbook.interactive import BUNDLE_NAME, javascript_bundle

    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / BUNDLE_NAME).write_text(javascript_bundle(), encoding="utf-8")


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("lossbook.css")
    app.connect("html-page-context", load_vega_where_needed)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("build-finished", write_vega_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
