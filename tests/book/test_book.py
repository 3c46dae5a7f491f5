"""The book builds from scratch, executing every page, with no warning (-W -n)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from test_notebooks import toc_files

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
NOTEBOOK_PAGES = [p for p in toc_files() if (ROOT / f"{p}.ipynb").exists()]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    """The site built by the session fixture in conftest.py (shared with test_site.py)."""
    return built_site


def test_config_forbids_stale_or_failing_execution():
    assert CONFIG["execute"]["execute_notebooks"] == "force"
    assert CONFIG["execute"]["raise_on_error"] is True


def test_every_page_is_built(site):
    assert (site / "index.html").exists()
    for page in toc_files():
        assert (site / f"{page}.html").exists(), page


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_chapter_is_executed_with_figures_and_alt_text(site, page):
    html = (site / f"{page}.html").read_text()
    images = re.findall(r"<img [^>]*>", html)
    figures = [i for i in images if "_images/" in i]
    assert len(figures) >= 3, f"{page}: expected executed figures, found {len(figures)}"
    no_alt = [i for i in figures if not re.search(r'alt="[^"]{10,}"', i)]
    assert not no_alt, f"{page}: figures without alt text: {no_alt[:2]}"
    assert "Traceback" not in html and "output error" not in html


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_launch_buttons_point_at_the_notebook(site, page):
    html = (site / f"{page}.html").read_text()
    colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{page}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/{page}.ipynb"
    assert colab in html, f"no Colab link to {colab}"
    assert binder in html, "no Binder link"
    assert f"_sources/{page}.ipynb" in html, "no .ipynb download button"
    assert (ROOT / f"{page}.ipynb").exists()


def test_bibliography_lists_the_cited_works(site):
    html = (site / "book" / "bibliography.html").read_text().lower()  # the style lowercases titles
    for needle in ("robust estimation of a location parameter", "regression quantiles",
                   "deep learning"):
        assert needle in html
    # citations in the chapters link to the bibliography entries
    chapter = (site / "book" / "01-regression.html").read_text()
    assert re.search(r'href="bibliography\.html#id\d+"', chapter)
