"""tools/build_book.py, the command behind `make book`: every page executed fresh into an emptied
jupyter-cache, several at a time, then rendered by Jupyter Book from that cache.

The pre-execution step runs for real here on three small notebooks (real kernels): one that
works, one that raises and one that works in its own folder only (it reads a file beside it).
The whole build, every page of the book, is tests/book (the ``built_site`` fixture runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402
from notebook_files import write_notebook  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("build-book")
    good = write_notebook(tmp / "good.ipynb", "x = 6 * 7", "print(x)")
    bad = write_notebook(tmp / "bad.ipynb", "raise ValueError('a page that fails')")
    (tmp / "sub" / "data.txt").parent.mkdir()
    (tmp / "sub" / "data.txt").write_text("beside the notebook")
    local = write_notebook(tmp / "sub" / "local.ipynb", "print(open('data.txt').read())")
    cache_path = tmp / "_build" / ".jupyter_cache"
    # An entry from an "earlier build" in which `bad` still worked (say, before an edit to
    # lossbook broke it): the same text, with an output. It must not survive into this build.
    stale = nbformat.read(bad, as_version=4)
    stale.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale\n")]
    from jupyter_cache.base import CacheBundleIn
    get_cache(str(cache_path)).cache_notebook_bundle(CacheBundleIn(stale, str(bad)),
                                                     check_validity=False, overwrite=True)
    failures = build_book.execute_all([good, bad, local], cache_path, jobs=2, timeout=60)
    return {"good": good, "bad": bad, "local": local, "cache": get_cache(str(cache_path)),
            "failures": failures}


def _cached_output(run, name: str) -> str:
    nb = nbformat.read(run[name], as_version=4)
    _, merged = run["cache"].merge_match_into_notebook(nb)
    return "".join(o.get("text", "") for c in merged.cells for o in c.get("outputs", []))


def test_a_page_that_works_is_cached_under_its_own_text(run):
    assert _cached_output(run, "good") == "42\n"


def test_each_page_runs_in_its_own_folder(run):
    assert _cached_output(run, "local") == "beside the notebook\n"


def test_a_page_that_fails_is_reported_and_left_out_of_the_cache(run):
    assert len(run["failures"]) == 1 and "bad.ipynb" in run["failures"][0]
    assert "a page that fails" in run["failures"][0]
    # not even the earlier build's entry: Jupyter Book executes it again and stops with its error
    with pytest.raises(KeyError):
        run["cache"].match_cache_notebook(nbformat.read(run["bad"], as_version=4))


def test_the_book_is_built_from_the_cache_the_command_fills():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"].get("cache") in (None, "")  # <path-output>/_build/.jupyter_cache
    pages = build_book.toc_notebooks()
    assert len(pages) > 20 and all(p.suffix == ".ipynb" and p.exists() for p in pages)
