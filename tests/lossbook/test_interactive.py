"""lossbook.interactive: a chart becomes a static image plus a live figure, with its alt text.

The browser half (the live chart replaces the image, each slider redraws it, nothing leaves the
site) is tested on the built book, in tests/book/test_site.py.
"""

from __future__ import annotations

import json
import re
import struct
import sys

import altair as alt
import pytest

from lossbook import interactive
from lossbook.interactive import InteractiveFigure, interactive_figure

ALT = 'A line whose slope follows the "gain" slider </script><b>not markup</b>'


def _chart():
    gain = alt.param(name="gain", value=1.0, bind=alt.binding_range(min=0, max=2, step=0.5))
    return (alt.Chart(alt.Data(values=[{"x": x} for x in range(5)]))
            .transform_calculate(y="gain * datum.x").mark_line()
            .encode(x="x:Q", y="y:Q").properties(width=200, height=100).add_params(gain))


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def figure() -> InteractiveFigure:
    return interactive_figure(_chart(), alt=ALT)


def test_the_static_image_is_a_png_of_the_chart_at_the_requested_scale(figure):
    small = interactive_figure(_chart(), alt="a line", scale=1)
    w1, h1 = _png_size(small.png)
    w2, h2 = _png_size(interactive_figure(_chart(), alt="a line", scale=2).png)
    assert w1 >= 200 and h1 >= 100  # the plot area and its axes
    assert (w2, h2) == (2 * w1, 2 * h1)


def test_html_holds_image_spec_and_script_and_the_alt_text_cannot_break_out(figure):
    page = figure.to_html()
    assert page.count("</script>") == 2  # the spec's and the drawing script's, no other
    # outside the JSON (raw text the browser never parses as HTML) the alt text is escaped
    assert "<b>" not in re.sub(r'<script type="application/json".*?</script>', "", page, flags=re.S)
    img = re.search(r'<img class="lossbook-interactive-static" alt="([^"]*)" src="data:image/png;'
                    r'base64,', page)
    assert img and "&lt;/script&gt;" in img.group(1) and "&quot;gain&quot;" in img.group(1)
    spec = re.search(r'<script type="application/json" class="lossbook-interactive-spec">(.*?)'
                     r'</script>', page, flags=re.S).group(1)
    spec = json.loads(spec.replace("<\\/", "</"))
    assert spec == figure.spec and spec["description"] == ALT
    assert spec["params"][0]["name"] == "gain" and spec["params"][0]["bind"]["input"] == "range"
    assert interactive.MARKER in page and "window.vegaEmbed" in page


def test_the_notebook_output_offers_html_png_and_text(figure):
    bundle = figure._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    assert bundle["text/plain"].endswith(f"{ALT}>")


def test_a_vega_lite_dict_works_like_the_chart():
    spec = _chart().to_dict()
    fig = interactive_figure(spec, alt="a line")
    assert fig.spec["params"] == spec["params"] and "description" not in spec  # not mutated


@pytest.mark.parametrize("kwargs, error, words", [
    ({"alt": None}, TypeError, "alt must be a str"),
    ({"alt": "   "}, ValueError, "alt must describe"),
    ({"alt": "x", "scale": 0}, ValueError, "scale must be a positive number, got 0"),
    ({"alt": "x", "scale": True}, ValueError, "scale must be a positive number, got True"),
])
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        interactive_figure(_chart(), **kwargs)


def test_something_that_is_not_a_chart_is_named():
    with pytest.raises(TypeError, match="chart must be an Altair chart or a Vega-Lite dict, got list"):
        interactive_figure([1, 2], alt="x")


def test_without_vl_convert_the_chart_itself_is_returned(monkeypatch):
    """Colab has Altair but not vl-convert: its own renderer then draws the chart."""
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import fails
    chart = _chart()
    assert interactive_figure(chart, alt="a line") is chart
    with pytest.raises(ImportError, match=r'pip install "lossbook\[interactive\]"'):
        interactive_figure(chart.to_dict(), alt="a line")


def test_the_bundle_defines_vega_embed_and_needs_no_network():
    bundle = interactive.javascript_bundle()
    assert "window.vegaEmbed" in bundle and len(bundle) > 100_000
    assert not re.search(r"""import\s*(?:[\w{}*,\s]+from\s*)?["']https?://""", bundle)
