"""The site as a reader sees it: every page in a real browser (headless Chromium), offline.

The site built once by the session fixture ``built_site`` (conftest.py, shared with
test_book.py) is served on 127.0.0.1 and visited with Playwright driving Debian's Chromium.
Every request to any other host is aborted and recorded, so these tests also prove that the
site needs no network: MathJax, fonts, scripts and styles all come from the built site.

One pass over the pages (module fixture ``crawl``) collects everything the tests look at, so
each page is loaded once; the tests then assert page by page. A screenshot of every page goes
to ``_build/screenshots/`` at the repository root.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from playwright.sync_api import sync_playwright

from lossbook.interactive import MARKER  # the attribute every interactive figure carries

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from toc import chapters, toc_pages  # noqa: E402 (the pages of _toc.yml, in reading order)
from test_book import OLD_ANCHORS  # noqa: E402 (the anchors of the one-page chapters)

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
BRANCH = CONFIG["repository"]["branch"]
SCREENSHOTS = ROOT / "_build" / "screenshots"

# Debian's Chromium (`make test` installs it: tools/system-deps.sh, which finds the browser the
# same way). Playwright's own browser download does not work here, and is not needed:
# Playwright drives this one over CDP. LOSSBOOK_CHROMIUM points at another Chromium.
CHROMIUM = (os.environ.get("LOSSBOOK_CHROMIUM")
            or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
            or shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


TOC_PAGES = toc_pages()
PAGES = TOC_PAGES + ["genindex", "search"]
NOTEBOOK_PAGES = [p for p in TOC_PAGES if (ROOT / f"{p}.ipynb").exists()]
# The chapters (the "Chapters" part of _toc.yml): landing page -> its pages, landing page first.
# Each chapter (but chapter 0) has a graded exercise; appendix pages do not.
CHAPTERS = chapters()
CHAPTER_PAGES = [p for pages in CHAPTERS.values() for p in pages]
# Pages that must show typeset math (a check that the math check itself finds math).
MATH_PAGES = NOTEBOOK_PAGES + ["book/api/regression", "book/api/classification", "book/glossary"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def log_request(self, code="-", size="-"):
        # Every error answer, including requests the browser makes on its own (the favicon),
        # which Playwright's page events never see.
        if isinstance(code, int) and code >= 400:  # HTTPStatus is an int
            self.server.errors.append(f"{int(code)} {self.path}")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    errors: list[str]

    def handle_error(self, request, client_address):
        pass  # the browser closing a connection early is not an error of the site


@pytest.fixture(scope="module")
def server(built_site):
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=built_site))
    server.errors = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def origin(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def blocked() -> list[str]:
    """Every URL on another host that the pages asked for (and did not get)."""
    return []


@pytest.fixture(scope="module")
def context(browser, origin, blocked):
    """A browser context in which every request that does not go to our server is aborted."""
    ctx = browser.new_context(viewport=DESKTOP)

    def block(route):
        blocked.append(route.request.url)
        route.abort()

    ctx.route(re.compile(r"^(?!" + re.escape(origin) + r"/)"), block)
    yield ctx
    ctx.close()


# One evaluation per page collects what the tests need (run after MathJax has finished).
COLLECT = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const raw = [];
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest('pre, code, script, style, mjx-container, textarea')) continue;
    if (/\\$\\$|\\\\\\(|\\\\\\[/.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 80));
  }
  const maths = [...document.querySelectorAll('span.math, div.math')];
  return {
    title: document.title,
    math_elements: maths.length,
    math_untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
    mjx: document.querySelectorAll('mjx-container').length,
    mjx_errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent).slice(0, 5),
    raw_tex: raw.slice(0, 5),
    images: [...document.images].map(i => ({
      src: i.currentSrc || i.src, alt: (i.getAttribute('alt') || '').trim(),
      loaded: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    icons: [...document.querySelectorAll('link[rel~="icon"]')].map(l => l.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id)
          .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  };
}"""

OVERFLOW = """() => {
  const width = window.innerWidth;
  const clipped = e => {  // inside a box that scrolls or clips horizontally (a code block...)
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 1)
    .filter(e => !clipped(e))
    .slice(0, 5)
    .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${e.textContent.trim().slice(0, 40)}"`);
  return {scroll: document.documentElement.scrollWidth, inner: width, wide};
}"""

WAIT_FOR_MATH = """async () => {
  let started = false;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;  // resolves once the page is typeset
    started = true;
  }
  await document.fonts.ready;
  return started;
}"""


def visit(ctx, origin: str, page: str) -> dict:
    tab = ctx.new_page()
    report = {"console": [], "errors": [], "failed": [], "status": [], "requests": []}
    tab.on("console", lambda m: m.type == "error" and report["console"].append(
        f"{m.text} @ {m.location.get('url')}"))
    tab.on("pageerror", lambda e: report["errors"].append(str(e)))
    tab.on("request", lambda r: report["requests"].append(r.url))
    tab.on("requestfailed", lambda r: r.url.startswith(origin) and report["failed"].append(
        f"{r.url}: {r.failure}"))
    tab.on("response", lambda r: r.status >= 400 and report["status"].append(f"{r.status} {r.url}"))
    try:
        tab.goto(f"{origin}/{page}.html", wait_until="load")
        report["mathjax"] = tab.evaluate(WAIT_FOR_MATH)
        report.update(tab.evaluate(COLLECT))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{page.replace('/', '__')}.png"
        tab.screenshot(path=shot)
        report["screenshot"] = shot
        tab.set_viewport_size(PHONE)
        tab.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        report["phone"] = tab.evaluate(OVERFLOW)
    finally:
        tab.close()
    return report


@pytest.fixture(scope="module")
def crawl(context, origin) -> dict[str, dict]:
    return {page: visit(context, origin, page) for page in PAGES}


# ----------------------------------------------------------------------------- every page
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_errors(crawl, page):
    r = crawl[page]
    assert r["title"], f"{page}: no title"
    assert not r["console"], f"{page}: console errors: {r['console'][:3]}"
    assert not r["errors"], f"{page}: JavaScript errors: {r['errors'][:3]}"
    assert not r["failed"], f"{page}: failed requests to our own files: {r['failed'][:3]}"
    assert not r["status"], f"{page}: error responses: {r['status'][:3]}"
    assert r["screenshot"].stat().st_size > 5000, f"{page}: empty screenshot"


def test_no_request_of_the_crawl_got_an_error_answer(crawl, server):
    # Seen by the server, so it includes what the browser asks for on its own (/favicon.ico).
    assert not server.errors, f"error answers while visiting every page: {server.errors[:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_page_has_a_favicon_served_by_the_site(crawl, context, origin, page):
    icons = crawl[page]["icons"]
    assert icons, f"{page}: no <link rel=icon>: the browser falls back to /favicon.ico (404)"
    for icon in icons:
        assert icon.startswith(origin + "/"), f"{page}: icon from elsewhere: {icon}"
        response = context.request.get(icon)
        assert response.ok, f"{page}: icon {icon}: {response.status}"
        assert b"<svg" in response.body()[:200], f"{page}: icon {icon} is not the site's SVG"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(crawl, page):
    r = crawl[page]
    if page in MATH_PAGES:
        assert r["math_elements"] > 0, f"{page}: expected math on this page, found none"
    if r["math_elements"]:
        assert r["mathjax"], f"{page}: has math but MathJax did not start"
        assert r["math_untypeset"] == 0, (
            f"{page}: {r['math_untypeset']} of {r['math_elements']} formulas left as raw TeX")
        assert r["mjx"] >= r["math_elements"]
    assert not r["mjx_errors"], f"{page}: TeX errors: {r['mjx_errors']}"
    assert not r["raw_tex"], f"{page}: raw TeX delimiters in the text: {r['raw_tex']}"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_has_alt_text_and_loads(crawl, page):
    images = crawl[page]["images"]
    if page in NOTEBOOK_PAGES:
        assert sum("/_images/" in i["src"] for i in images) >= 1, f"{page}: figures missing"
    no_alt = [i["src"] for i in images if not i["alt"]]
    assert not no_alt, f"{page}: images without alt text: {no_alt[:3]}"
    broken = [i["src"] for i in images if not i["loaded"]]
    assert not broken, f"{page}: images that did not load: {broken[:3]}"


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_phone_screen(crawl, page):
    phone = crawl[page]["phone"]
    assert phone["inner"] == PHONE["width"]
    assert phone["scroll"] <= phone["inner"], (
        f"{page}: {phone['scroll']} px wide at a {phone['inner']} px screen "
        f"(horizontal scrolling); too wide: {phone['wide']}")


# ----------------------------------------------------------------------------- the whole site
def test_nothing_needs_the_network(crawl, blocked, origin):
    """Every request went to our server: the route that aborts other hosts was never used."""
    requests = [u for r in crawl.values() for u in r["requests"]]
    external = sorted({u for u in requests if not u.startswith(origin + "/")})
    assert len(requests) > len(PAGES), "the crawl recorded no requests"
    assert not external, f"requests to other hosts: {external[:5]}"
    assert not blocked, f"aborted requests to other hosts: {blocked[:5]}"


def test_math_is_served_by_the_site(crawl, origin):
    """MathJax and its fonts come from _static/mathjax of the built site, not from a CDN."""
    requests = {u for r in crawl.values() for u in r["requests"]}
    assert any(u.startswith(f"{origin}/_static/mathjax/tex-chtml.js") for u in requests)
    fonts = [u for u in requests if re.search(r"/_static/mathjax/output/chtml/fonts/.+\.woff", u)]
    assert fonts, "MathJax loaded no font from the site"
    typeset = sum(crawl[p]["mjx"] for p in NOTEBOOK_PAGES)
    assert typeset > 100


def test_a_copy_of_the_folder_works_without_a_server(browser, built_site, figures):
    """Opened from disk (file://, a USB stick), a chapter still typesets its math and draws its
    interactive figures."""
    page = next(iter(figures))
    ctx = browser.new_context(viewport=DESKTOP)
    tab = ctx.new_page()
    requests, errors = [], []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        tab.goto((built_site / f"{page}.html").as_uri(), wait_until="load")
        assert tab.evaluate(WAIT_FOR_MATH)
        typeset = tab.evaluate("document.querySelectorAll('mjx-container').length")
        figures = tab.locator("figure.lossbook-interactive").count()
        if figures:  # the Vega libraries load from disk too
            tab.wait_for_function(ALL_DRAWN, timeout=20_000)
    finally:
        ctx.close()
    assert typeset > 20
    assert not errors, errors[:3]
    assert all(u.startswith(("file:", "data:")) for u in requests), [
        u for u in requests if not u.startswith(("file:", "data:"))][:3]


def _target_ids(site: Path, crawl: dict, path: str) -> set[str]:
    page = path.removesuffix(".html")
    if page in crawl:
        return set(crawl[page]["ids"])
    html = (site / path).read_text(errors="replace")
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', html))


def test_every_internal_link_resolves(crawl, origin, built_site):
    broken, checked = [], 0
    for page, report in crawl.items():
        for href in report["links"]:
            if not href.startswith(origin + "/"):
                continue
            parts = urlsplit(href)
            path = unquote(parts.path).lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            checked += 1
            target = built_site / path
            if not target.is_file():
                broken.append(f"{page}: {href} (no such file)")
            elif parts.fragment and path.endswith(".html"):
                if unquote(parts.fragment) not in _target_ids(built_site, crawl, path):
                    broken.append(f"{page}: {href} (no such anchor)")
    assert checked > 200, f"only {checked} internal links found"
    assert not broken, f"{len(broken)} broken links, e.g. " + "\n".join(broken[:10])


def test_the_index_is_built_and_linked(crawl):
    assert any(h.endswith("/genindex.html") for p in TOC_PAGES for h in crawl[p]["links"])
    entries = [h for h in crawl["genindex"]["links"] if "/book/api/" in h]
    assert len(entries) > 40, "the general index lists the API"


def test_chapters_link_to_the_api_reference_and_glossary(crawl):
    """Every notebook page links to the glossary; every chapter after the first, and every
    appendix notebook, links to the API reference."""
    groups = [pages for pages in CHAPTERS.values()]
    groups += [[p] for p in NOTEBOOK_PAGES if p not in CHAPTER_PAGES]
    for pages in groups:
        links = [h for p in pages for h in crawl[p]["links"]]
        assert any("/book/glossary.html#term-" in h for h in links), f"{pages[0]}: no glossary term"
        if pages is groups[0]:
            continue
        assert any(re.search(r"/book/api/\w+\.html#lossbook\.", h) for h in links), (
            f"{pages[0]}: no link to the API reference")
    for page in NOTEBOOK_PAGES:
        assert any("/book/glossary.html#term-" in h for h in crawl[page]["links"]), (
            f"{page}: no glossary term")


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_ends_with_takeaways_and_its_exercise(crawl, chapter):
    last = CHAPTERS[chapter][-1]
    assert "key-takeaways" in crawl[last]["ids"], f"{last}: no Key takeaways section"
    if chapter == next(iter(CHAPTERS)):
        return  # chapter 0 has no graded exercise
    assignment = Path(chapter).name
    exercises = sorted((ROOT / "exercises" / assignment).glob("*.ipynb"))
    assert len(exercises) == 1, f"expected one notebook in exercises/{assignment}, found {exercises}"
    path = exercises[0].relative_to(ROOT).as_posix()
    for page in (chapter, last):  # where a reader starts, and where the chapter ends
        links = crawl[page]["links"]
        assert f"https://github.com/{REPO}/blob/{BRANCH}/{path}" in links, f"{page}: no link to {path}"
        assert f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{path}" in links, (
            f"{page}: no Colab link to {path}")


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_an_old_link_into_a_chapter_opens_the_page_that_now_holds_it(context, origin, built_site,
                                                                    chapter):
    """A bookmark into the one-page chapter of before (``01-regression.html#huber-loss``) lands
    on the section page that holds that anchor, scrolled to it; the chapter's own URL stays on
    the landing page."""
    old = OLD_ANCHORS[chapter]
    landing = (built_site / f"{chapter}.html").read_text()
    old = [a for a in old if f'id="{a}"' not in landing]  # those the landing page kept stay there

    def lands(tab, anchor):
        tab.wait_for_url(re.compile(re.escape(f"{origin}/{chapter}/") + r".+\.html#" + re.escape(anchor)))
        page = urlsplit(tab.url).path.lstrip("/").removesuffix(".html")
        assert page in CHAPTERS[chapter][1:], tab.url
        assert tab.evaluate("(id) => !!document.getElementById(id)", anchor), (anchor, tab.url)

    for anchor in (old[0], old[len(old) // 2], old[-1]):  # a link from elsewhere: a fresh load
        tab = context.new_page()
        try:
            tab.goto(f"{origin}/{chapter}.html#{anchor}", wait_until="load")
            lands(tab, anchor)
        finally:
            tab.close()
    tab = context.new_page()
    try:
        tab.goto(f"{origin}/{chapter}.html", wait_until="load")
        assert tab.url == f"{origin}/{chapter}.html"  # no anchor: the landing page stays
        tab.evaluate("(a) => { window.location.hash = a; }", old[1])  # an old link on the page
        lands(tab, old[1])
    finally:
        tab.close()


# ----------------------------------------------------------------------------- interactive figures
# The knobs the book promises a reader can play with: each is the label of a slider of a figure.
KNOBS = ("learning rate", "Huber's δ", "quantile q", "focal γ", "label smoothing ε",
         "temperature τ", "DPO β", "decision threshold")
ALL_DRAWN = """() => [...document.querySelectorAll('figure.lossbook-interactive')]
  .every(f => f.getAttribute('data-drawn') === 'live' && f.querySelector('svg'))"""
# Move each slider of one figure in turn to its other end and wait for the chart to redraw.
MOVE = """async (fig) => {
  const svg = () => fig.querySelector('.lossbook-interactive-live svg').outerHTML;
  const settled = async (before) => {
    for (let i = 0; i < 100; i++) {
      await new Promise(r => requestAnimationFrame(r));
      if (svg() !== before) return true;
    }
    return false;
  };
  const out = [];
  for (const input of fig.querySelectorAll('input[type=range]')) {
    const name = input.closest('.vega-bind').querySelector('.vega-bind-name').textContent.trim();
    const before = svg(), from = input.value;
    input.value = from === input.max ? input.min : input.max;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    const changed = await settled(before);
    input.value = from;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    const back = await settled(svg()) || svg() === before;
    out.push({name, from, to: input.value, changed, back});
  }
  return out;
}"""


@pytest.fixture(scope="module")
def figures(built_site, browser, origin) -> dict[str, dict]:
    """page -> its interactive figures (alt text, sliders moved) and what the page requested,
    for every page whose HTML holds one; in a context where other hosts are unreachable."""
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.route(re.compile(r"^(?!" + re.escape(origin) + r"/)"), lambda route: route.abort())
    out = {}
    try:
        for page in TOC_PAGES:
            if MARKER not in (built_site / f"{page}.html").read_text():
                continue
            tab = ctx.new_page()
            report = {"requests": [], "errors": []}
            tab.on("request", lambda r, rep=report: rep["requests"].append(r.url))
            tab.on("pageerror", lambda e, rep=report: rep["errors"].append(str(e)))
            tab.goto(f"{origin}/{page}.html", wait_until="load")
            tab.wait_for_function(ALL_DRAWN, timeout=30_000)
            report["figures"] = [
                {"alt": fig.eval_on_selector("img.lossbook-interactive-static", "i => i.alt"),
                 "aria": fig.eval_on_selector(".lossbook-interactive-live svg",
                                              "s => s.getAttribute('aria-label') || ''"),
                 "sliders": tab.evaluate(MOVE, fig)}
                for fig in tab.query_selector_all("figure.lossbook-interactive")]
            out[page] = report
            tab.close()
    finally:
        ctx.close()
    return out


def test_the_book_has_interactive_figures_for_every_knob(figures):
    found = [f for report in figures.values() for f in report["figures"]]
    names = [s["name"] for f in found for s in f["sliders"]]
    assert len(found) >= 8, f"{len(found)} interactive figures: {names}"
    missing = [k for k in KNOBS if not any(k in n for n in names)]
    assert not missing, f"no slider for {missing}; the sliders are {names}"


def test_every_slider_redraws_its_figure_and_back(figures):
    still = [(page, s) for page, report in figures.items() for f in report["figures"]
             for s in f["sliders"] if not (s["changed"] and s["back"])]
    assert not still, still[:5]
    assert all(f["sliders"] for r in figures.values() for f in r["figures"]), "a figure without a slider"


def test_interactive_figures_need_nothing_from_another_host(figures, origin):
    for page, report in figures.items():
        away = [u for u in report["requests"] if not u.startswith((origin + "/", "data:"))]
        assert not away, f"{page}: {away[:3]}"
        assert any(u.startswith(f"{origin}/_static/lossbook-vega.js") for u in report["requests"])
        assert not report["errors"], f"{page}: {report['errors'][:3]}"


def test_every_interactive_figure_has_alt_text_on_image_and_chart(figures):
    for page, report in figures.items():
        for f in report["figures"]:
            assert len(f["alt"].split()) >= 15, f"{page}: alt text too short: {f['alt']!r}"
            assert f["aria"] and f["aria"] in f["alt"], (page, f["aria"][:60], f["alt"][:60])


def test_pages_without_a_figure_do_not_load_vega(crawl, figures, origin):
    for page in TOC_PAGES:
        loads = any("/_static/lossbook-vega.js" in u for u in crawl[page]["requests"])
        assert loads == (page in figures), page


def test_without_javascript_each_figure_is_its_static_image(browser, origin, figures):
    """No JavaScript (or a reader of the PDF): the PNG of the chart, with its alt text."""
    ctx = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        for page in figures:
            tab = ctx.new_page()
            tab.goto(f"{origin}/{page}.html", wait_until="load")
            shown = tab.eval_on_selector_all("figure.lossbook-interactive", """figs => figs.map(f => {
                const img = f.querySelector('img.lossbook-interactive-static');
                return {visible: img.getBoundingClientRect().height > 50 && !img.hidden,
                        loaded: img.complete && img.naturalWidth > 200, alt: img.alt};
            })""")
            tab.close()
            assert len(shown) == len(figures[page]["figures"])
            assert all(s["visible"] and s["loaded"] and s["alt"] for s in shown), (page, shown)
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- notebook pages
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_launch_and_download_buttons(crawl, context, origin, page):
    links = crawl[page]["links"]
    colab = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{page}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=tree/{page}.ipynb"
    download = f"{origin}/_sources/{page}.ipynb"
    assert colab in links, f"{page}: no Colab button to {colab}"
    assert binder in links, f"{page}: no Binder button to {binder}"
    assert download in links, f"{page}: no .ipynb download button"
    response = context.request.get(download)
    assert response.ok
    notebook = json.loads(response.body())
    source = json.loads((ROOT / f"{page}.ipynb").read_text())
    assert [c["source"] for c in notebook["cells"]] == [c["source"] for c in source["cells"]]


# ----------------------------------------------------------------------------- search
def search(context, origin: str, query: str) -> tuple[list[str], str]:
    tab = context.new_page()
    try:
        tab.goto(f"{origin}/search.html?q={query}")
        tab.wait_for_function(
            "() => document.querySelector('#search-results h2')?.textContent === 'Search Results'",
            timeout=20_000)
        hits = tab.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
        summary = tab.inner_text("#search-results p.search-summary")
    finally:
        tab.close()
    return hits, summary


@pytest.mark.parametrize(("query", "page"), [("huber", "book/01-regression"),
                                             ("focal", "book/02-classification")])
def test_search_finds(context, origin, query, page):
    hits, summary = search(context, origin, query)
    assert any(f"/{page}/" in h for h in hits), f"{query!r}: {summary}; hits {hits[:5]}"


def test_search_reports_a_term_that_is_not_in_the_book(context, origin):
    """The search test can fail: a word that appears nowhere finds nothing."""
    hits, summary = search(context, origin, "quuxfrobnicate")
    assert hits == [] and "did not match" in summary
