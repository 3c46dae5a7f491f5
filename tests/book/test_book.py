"""The book builds from scratch, executing every page, with no warning (-W -n)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from test_notebooks import toc_files
from toc import chapters  # tools/ is on sys.path (test_notebooks)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
NOTEBOOK_PAGES = [p for p in toc_files() if (ROOT / f"{p}.ipynb").exists()]
# The chapters (the "Chapters" part of _toc.yml), each with the pages of its sections.
CHAPTERS = chapters()
# Sections that close a chapter rather than teach: no exercises expected there.
CLOSING = re.compile(r"^(Key takeaways|Where next|Summary\b)", re.I)
# Every anchor of the chapters when each was one page (before the split into section pages),
# read from the last single-page build: links to them must keep working.
OLD_ANCHORS = json.loads((Path(__file__).parent / "data" / "old_anchors.json").read_text())

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    """The site built by the session fixture in conftest.py (shared with test_site.py)."""
    return built_site


def test_config_forbids_stale_or_failing_execution():
    # Pages come from the cache that tools/build_book.py empties and fills on every build
    # (tests/tools/test_build_book.py); a page that is not there is executed and must not fail.
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["raise_on_error"] is True
    assert "tools/build_book.py" in (ROOT / "Makefile").read_text().split("\nbook:")[1].split("\n\n")[0]


def test_every_page_is_built(site):
    assert (site / "index.html").exists()
    for page in toc_files():
        assert (site / f"{page}.html").exists(), page


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_chapter_is_executed_with_figures_and_alt_text(site, page):
    html = (site / f"{page}.html").read_text()
    images = re.findall(r"<img [^>]*>", html)
    figures = [i for i in images if "_images/" in i]
    assert len(figures) >= 1, f"{page}: expected executed figures, found {len(figures)}"
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
    pages = CHAPTERS["book/01-regression"]
    assert any(re.search(r'href="(\.\./)?bibliography\.html#id\d+"', (site / f"{p}.html").read_text())
               for p in pages)


# ----------------------------------------------------------------------------- chapters in pages
@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_landing_page_lists_its_pages_in_order(site, chapter):
    """The chapter's URL still opens: a landing page with its introduction and links to its
    section pages, in reading order; each section page is a notebook (Colab opens it)."""
    pages = CHAPTERS[chapter][1:]
    assert len(pages) >= 2, f"{chapter} is not split into section pages"
    soup = _soup(site, chapter)
    toc = soup.select_one("article .toctree-wrapper")
    assert toc is not None, f"{chapter}: no list of its pages"
    hrefs = [a["href"].removesuffix(".html") for a in toc.select("a[href]") if "#" not in a["href"]]
    base = Path(chapter).parent.as_posix()
    assert [f"{base}/{h}" for h in hrefs] == pages
    assert len(soup.select_one("article").get_text(" ", strip=True).split()) > 100, "no introduction"


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_old_links_into_a_chapter_reach_the_page_that_holds_them(site, chapter):
    """Each anchor of the old one-page chapter is on the landing page or in the map of its
    forwarding script, pointing at the section page that holds it (the browser side of the
    forwarding is in test_site.py)."""
    html = (site / f"{chapter}.html").read_text()
    match = re.search(r"var pages = (\{.*?\});", html)
    assert match, f"{chapter}: the landing page has no forwarding script"
    forward = json.loads(match.group(1))
    own = set(re.findall(r'\bid="([^"]+)"', html))
    base = site / Path(chapter).parent
    missing = []
    for anchor in OLD_ANCHORS[chapter]:
        if anchor in own:
            continue
        target = forward.get(anchor)
        if target is None or f'id="{anchor}"' not in (base / target).read_text():
            missing.append((anchor, target))
    assert len(OLD_ANCHORS[chapter]) > 30
    assert not missing, f"{chapter}: old anchors that lead nowhere: {missing[:5]}"


# ----------------------------------------------------------------------------- reader practice
def _soup(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((site / f"{page}.html").read_text(), "html.parser")


def _exercises(soup: BeautifulSoup) -> list:
    return soup.select("div.exercise.admonition")


def _heading(section) -> str:
    h = section.find(["h2"], recursive=False)
    return h.get_text(" ", strip=True).rstrip("#").strip() if h else ""


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_every_chapter_has_exercises_each_with_a_collapsed_answer(site, chapter):
    count = 0
    for page in CHAPTERS[chapter]:
        soup = _soup(site, page)
        answers = {}
        for sol in soup.select("div.solution.admonition"):
            link = sol.select_one("p.admonition-title a[href^='#']")
            assert link is not None, f"{page}: a solution that names no exercise"
            answers.setdefault(link["href"][1:], []).append(sol)
        for ex in _exercises(soup):
            sols = answers.get(ex["id"], [])
            assert len(sols) == 1, f"{page}: exercise {ex['id']} has {len(sols)} answers"
            assert "dropdown" in sols[0]["class"], f"{page}: the answer to {ex['id']} is not collapsed"
            assert len(sols[0].get_text(" ", strip=True).split()) >= 15, f"{page}: {ex['id']}: a bare answer"
            count += 1
    assert count >= 8, f"{chapter}: {count} exercises"


def test_the_book_has_at_least_sixty_exercises(site):
    total = sum(len(_exercises(_soup(site, p))) for pages in CHAPTERS.values() for p in pages)
    assert total >= 60, total


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_every_teaching_section_ends_with_two_to_four_exercises(site, chapter):
    for page in CHAPTERS[chapter][1:]:  # the section pages (the landing page only lists them)
        soup = _soup(site, page)
        for section in soup.select("article section section"):
            title = _heading(section)
            if not title or CLOSING.match(title):
                continue
            n = len(_exercises(section))
            assert 2 <= n <= 4, f"{page}: section {title!r} has {n} exercises"
            # they close the section: no teaching subsection after the last one
            last = _exercises(section)[-1]
            later = [h.get_text(strip=True) for h in last.find_all_next(["h2", "h3"])
                     if section in h.parents]
            assert not later, f"{page}: {title!r} goes on after its exercises: {later[:2]}"


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_each_chapter_asks_the_reader_to_predict_before_running(site, chapter):
    prompts = [a for p in CHAPTERS[chapter] for a in _soup(site, p).select("div.admonition.predict")]
    assert len(prompts) >= 3, f"{chapter}: {len(prompts)} predict-then-run prompts"
    for prompt in prompts:
        text = prompt.get_text(" ", strip=True)
        body = text.removeprefix("Predict, then run").strip()
        assert "?" in body or re.search(r"\b(which|whether|how|predict|guess|expect)\b", body, re.I), (
            f"{chapter}: a prompt that asks nothing: {text[:80]}")
