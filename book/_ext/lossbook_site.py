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
- Old links keep working: each chapter was one page before it was split into a landing page and
  section pages. A link such as ``01-regression.html#huber-loss`` now opens the landing page,
  whose head holds a small script that maps every anchor of the chapter's section pages to the
  page that holds it and goes there (``location.replace``, so Back skips the landing page).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
# The chapters' landing pages: their old anchors now live on the pages of their toctree.
LANDING = re.compile(r"^book/\d\d-[^/]+$")
FORWARD = """(function () {{
  var pages = {pages};
  function forward() {{
    var anchor = decodeURIComponent(window.location.hash.slice(1));
    if (anchor && Object.prototype.hasOwnProperty.call(pages, anchor)) {{
      window.location.replace(pages[anchor] + "#" + encodeURIComponent(anchor));
    }}
  }}
  forward();
  window.addEventListener("hashchange", forward);
}})();"""


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


def anchors(doctree) -> list[str]:
    """Every id a link can point at in a page (sections, labels, exercises, equations), but
    Sphinx's numbered ``idN`` and the ids that repeat the page's own name."""
    from docutils import nodes

    return [i for node in doctree.findall(nodes.Element) for i in node.get("ids", [])
            if not re.fullmatch(r"id\d+", i) and "/" not in i]


def old_anchor_map(app, pagename: str) -> dict[str, str]:
    """anchor -> page (relative URL) for the anchors of a landing page's section pages; where
    two pages use the same anchor, the first page in reading order keeps it."""
    env = app.env
    own = set(anchors(env.get_doctree(pagename)))
    out: dict[str, str] = {}
    for child in env.toctree_includes.get(pagename, []):
        uri = app.builder.get_relative_uri(pagename, child)
        for anchor in anchors(env.get_doctree(child)):
            if anchor not in own:
                out.setdefault(anchor, uri)
    return out


def forward_old_anchors(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html" or not LANDING.match(pagename):
        return
    pages = old_anchor_map(app, pagename)
    if pages:
        app.add_js_file(None, body=FORWARD.format(pages=json.dumps(pages, sort_keys=True)),
                        priority=100)  # inside html-page-context: this page only, early in <head>


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
    app.connect("html-page-context", forward_old_anchors)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("build-finished", write_vega_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
