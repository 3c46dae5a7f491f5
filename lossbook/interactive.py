"""Interactive figures that work in a static site, with no kernel and no network.

A chapter draws a figure with a slider (Huber's delta, the focal gamma, a temperature ...) as a
`Vega-Lite <https://vega.github.io/vega-lite/>`_ chart written with `Altair
<https://altair-viz.github.io/>`_: the curves are either computed in the browser from the slider's
value (a Vega expression) or precomputed for a grid of values and filtered by it. The browser draws
the chart with the Vega libraries that the book's Sphinx extension serves from the site itself
(``_static/lossbook-vega.js``, written from `vl-convert <https://github.com/vega/vl-convert>`_'s
bundle), never from a CDN.

:func:`interactive_figure` wraps a chart for display in a notebook. Its output holds

* a static PNG of the chart at the sliders' initial values (rendered by vl-convert, offline), with
  the alternative text: what a reader without JavaScript, a screen reader or the PDF sees;
* the chart's specification and a short script that replaces the image with the live chart when
  the page has the Vega libraries (the book's pages do; a Jupyter notebook keeps the image).

Both libraries are optional dependencies (``pip install "lossbook[interactive]"``). Where
vl-convert is missing (Colab has Altair but not vl-convert) :func:`interactive_figure` returns the
Altair chart itself, which Jupyter and Colab draw with their own renderer.

Example:
    >>> import altair as alt
    >>> from lossbook.interactive import interactive_figure
    >>> gain = alt.param(name="gain", value=1.0, bind=alt.binding_range(min=0, max=2, step=0.5))
    >>> chart = (alt.Chart(alt.Data(values=[{"x": x} for x in range(5)]))
    ...          .transform_calculate(y="gain * datum.x").mark_line()
    ...          .encode(x="x:Q", y="y:Q").add_params(gain))
    >>> fig = interactive_figure(chart, alt="A line through the origin whose slope is the gain.")
    >>> fig.png[:4] == b"\\x89PNG" and "data-lossbook-interactive" in fig.to_html()
    True
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

__all__ = ["InteractiveFigure", "interactive_figure", "BUNDLE_NAME", "javascript_bundle"]

#: The file name under ``_static/`` from which the book's pages load the Vega libraries.
BUNDLE_NAME = "lossbook-vega.js"
MARKER = "data-lossbook-interactive"

# Replaces the static image with the live chart, once the page's Vega libraries are there.
_SCRIPT = """(function () {
  var fig = document.currentScript.parentNode;
  function draw() {
    if (!window.vegaEmbed || fig.getAttribute("data-drawn")) return;
    fig.setAttribute("data-drawn", "pending");
    var spec = JSON.parse(fig.querySelector("script.lossbook-interactive-spec").textContent);
    var live = fig.querySelector(".lossbook-interactive-live");
    window.vegaEmbed(live, spec, {renderer: "svg", actions: false}).then(function () {
      var svg = live.querySelector("svg");
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", spec.description || "");
      live.hidden = false;
      fig.querySelector("img.lossbook-interactive-static").hidden = true;
      fig.setAttribute("data-drawn", "live");
    });
  }
  if (window.vegaEmbed) draw(); else window.addEventListener("load", draw);
})();"""


def _require(module: str, extra: str = "interactive") -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"lossbook.interactive needs {module!r}: pip install "
                          f"\"lossbook[{extra}]\"") from exc


def javascript_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed libraries as one classic script that sets
    ``window.vegaEmbed`` (vl-convert's bundle: no network, no CDN). The book's extension serves it
    as ``_static/lossbook-vega.js``.

    The bundle is wrapped in a function: its top-level names stay its own (Sphinx's doctools.js
    declares a global ``const _`` too), and, unlike a module script, it also loads from a copy of
    the site opened from disk (``file://``).
    """
    return "(function () {\n" + str(_require("vl_convert").javascript_bundle()) + "\n})();\n"


class InteractiveFigure:
    """A Vega-Lite chart with its static fallback image and its alternative text.

    Attributes:
        spec: the Vega-Lite specification (a dict), with ``description`` set to the alt text.
        alt: the alternative text: what the figure shows, for readers who cannot see it.
        png: the static PNG of the chart at the sliders' initial values.
    """

    def __init__(self, spec: dict[str, Any], alt: str, png: bytes) -> None:
        self.spec, self.alt, self.png = spec, alt, png

    def to_html(self) -> str:
        """The HTML of the figure: the static image, an empty place for the live chart, the
        specification (JSON in a script tag that the browser does not run) and the script."""
        image = base64.b64encode(self.png).decode("ascii")
        spec = json.dumps(self.spec, separators=(",", ":")).replace("</", "<\\/")
        alt = html.escape(self.alt, quote=True)
        return (f'<figure class="lossbook-interactive" {MARKER}="1">'
                f'<img class="lossbook-interactive-static" alt="{alt}" '
                f'src="data:image/png;base64,{image}">'
                f'<div class="lossbook-interactive-live" hidden></div>'
                f'<script type="application/json" class="lossbook-interactive-spec">{spec}'
                f"</script><script>{_SCRIPT}</script></figure>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/html": self.to_html(),
                "image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": f"<interactive figure: {self.alt}>"}

    def __repr__(self) -> str:
        return f"InteractiveFigure(alt={self.alt!r})"


def interactive_figure(chart: Any, *, alt: str, scale: float = 1.5) -> Any:
    """Wrap an Altair chart (or a Vega-Lite specification) for display in a chapter.

    Args:
        chart: an Altair chart, or a Vega-Lite specification as a dict.
        alt: the alternative text, a sentence or two saying what the figure shows (required: the
            static image and the live chart both carry it).
        scale: the resolution of the static image, relative to the chart's size.

    Returns:
        An :class:`InteractiveFigure`; the Altair chart itself where vl-convert is not installed
        (then Jupyter's or Colab's own renderer draws it).

    Raises:
        TypeError: if ``chart`` is neither a dict nor has ``to_dict()``, or ``alt`` is not a str.
        ValueError: if ``alt`` is empty or ``scale`` is not positive.
    """
    if not isinstance(alt, str):
        raise TypeError(f"alt must be a str (the figure's alternative text), got "
                        f"{type(alt).__name__}")
    if not alt.strip():
        raise ValueError("alt must describe the figure, got an empty string")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if isinstance(chart, dict):
        spec = dict(chart)
    elif hasattr(chart, "to_dict"):
        spec = chart.to_dict()
    else:
        raise TypeError(f"chart must be an Altair chart or a Vega-Lite dict, got "
                        f"{type(chart).__name__}")
    try:
        import vl_convert
    except ImportError:
        if isinstance(chart, dict):  # nothing else could draw a bare specification
            _require("vl_convert")
        return chart
    spec["description"] = alt
    png = bytes(vl_convert.vegalite_to_png(spec, scale=float(scale)))
    return InteractiveFigure(spec, alt, png)
