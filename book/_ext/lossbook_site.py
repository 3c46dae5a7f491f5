"""Small Sphinx additions for the lossbook site (loaded through _config.yml, local_extensions).

- ``static/lossbook.css``: long identifiers, signatures and the general index wrap on a phone
  screen instead of making the page scroll sideways.
- Sphinx 7.4 emits an inline script twice when an extension adds it after the builder has
  started (it is registered once as ``None`` and once as ``''``). For sphinx-thebe the second
  copy redeclares ``const THEBE_JS_URL`` and every page logs a JavaScript error, so each page
  keeps only the first copy of every script.
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


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("lossbook.css")
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
