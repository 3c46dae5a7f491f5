"""lossbook.notebook.progress: a bar that never writes to stderr, in every place a notebook runs.

Three contexts matter, and each has a test here:
* a script or a terminal (no kernel): a text bar on stdout;
* a headless kernel, as the book build (myst-nb), nbgrader and ``jupyter nbconvert`` run them:
  one display output updated in place, so the saved notebook holds the final line only;
* a kernel with a front end that draws widgets (Colab, Jupyter Lab): tqdm.auto's widget.
The book build itself is checked by a one-page Sphinx build with the book's stderr rule.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings

import nbformat
import pytest
from nbclient import NotebookClient

from lossbook import notebook
from lossbook.notebook import progress

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _no_progress_env(monkeypatch):
    for name in ("LOSSBOOK_PROGRESS", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- mode resolution

@pytest.mark.parametrize(("value", "expected"), [
    ("0", "off"), ("off", "off"), ("OFF", "off"), ("false", "off"), ("text", "text"),
    ("widget", "widget"), (" Text ", "text"),
    # auto (an empty variable counts as unset): no kernel here, so the text bar
    ("auto", "text"), ("1", "text"), ("", "text"), ("loud", None),
])
def test_the_environment_variable_chooses_the_mode(monkeypatch, value, expected):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", value)
    if expected is None:
        with pytest.raises(ValueError, match=r"LOSSBOOK_PROGRESS must be .* got 'loud'"):
            notebook._progress_mode(None)
    else:
        assert notebook._progress_mode(None) == expected


def test_the_mode_argument_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "off")
    assert notebook._progress_mode("text") == "text"
    with pytest.raises(ValueError,
                       match=r"mode must be 'auto', 'widget', 'text' or 'off' .* got 'fancy'"):
        progress(range(3), mode="fancy")


def test_a_bad_environment_variable_fails_the_call(monkeypatch):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "loud")
    with pytest.raises(ValueError, match=r"LOSSBOOK_PROGRESS must be .* got 'loud'"):
        progress(range(3))


def test_file_cannot_be_chosen():
    with pytest.raises(TypeError, match="do not pass file"):
        progress(range(3), file=sys.stderr)


def test_outside_a_kernel_auto_never_picks_the_widget(monkeypatch):
    # even where a Jupyter server would have started us, no kernel means no widget
    monkeypatch.setenv("JPY_SESSION_NAME", "exercise.ipynb")
    assert notebook._progress_mode("auto") == "text"
    assert notebook._widget_bar(range(3)) is None


# --------------------------------------------------------------------------- no kernel

def test_text_bar_goes_to_stdout_and_never_warns(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = [i for i in progress(range(7), desc="fitting")]
        bar = progress(total=4, desc="by hand", mode="widget")  # no kernel: text instead
        bar.update(4)
        bar.close()
    assert seen == list(range(7))
    out, err = capsys.readouterr()
    assert err == ""
    assert not caught, [str(w.message) for w in caught]
    assert "fitting: 100%" in out and "7/7" in out
    assert "by hand: 100%" in out and "4/4" in out


@pytest.mark.parametrize("how", ["env", "argument"])
def test_off_prints_nothing_and_passes_items_through(capsys, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("LOSSBOOK_PROGRESS", "0")
    with progress(iter("abc"), total=3, desc="quiet", mode=None if how == "env" else "off") as bar:
        items = list(bar)
        bar.set_postfix(loss=0.5)
        bar.set_description("still quiet")
    assert items == ["a", "b", "c"] and bar.n == 3
    assert capsys.readouterr() == ("", "")


def test_without_tqdm_there_is_no_bar_and_no_warning(capsys, monkeypatch):
    for name in ("tqdm", "tqdm.std", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)  # import tqdm now raises ImportError
    bar = progress(range(4), desc="no tqdm", mode="text")
    assert isinstance(bar, notebook._NoBar)
    assert list(bar) == [0, 1, 2, 3] and len(bar) == 4
    hand = progress(total=2)
    hand.update(2)
    hand.close()
    with pytest.raises(TypeError, match="no iterable"):
        list(hand)
    assert capsys.readouterr() == ("", "")


def test_display_line_keeps_only_the_current_line(monkeypatch):
    shown = []

    class Handle:
        def update(self, data, raw):
            shown.append(data["text/plain"])

    def fake_display(data, raw, display_id):
        shown.append(data["text/plain"])
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    line = notebook._DisplayLine()
    line.write("")                          # tqdm's probe: nothing shown yet
    line.write("\r  0%|   | 0/2")
    line.write("\r 50%|#  | 1/2")
    line.write("\r 50%|#  | 1/2")           # unchanged: no update sent
    line.write("\n\x1b[A\r100%|## | 2/2   ")  # cursor moves and padding are dropped
    line.write("\n")
    assert shown == ["  0%|   | 0/2", " 50%|#  | 1/2", "100%|## | 2/2"]


# --------------------------------------------------------------------------- real kernels

def _run_in_kernel(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c))
                                         for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _stderr(nb):
    return [o.text for c in nb.cells for o in c.outputs
            if o.output_type == "stream" and o.name == "stderr"]


@pytest.mark.slow
def test_in_kernels_the_bar_is_a_display_or_a_widget_and_never_stderr():
    nb = _run_in_kernel([
        # 0. a headless kernel (book build, nbgrader): one display, final state only
        """
        import os, sys, time, warnings
        warnings.simplefilter("error")  # a warning would fail the cell
        from lossbook.notebook import progress
        for step in progress(range(40), desc="training"):
            time.sleep(0.01)
        """,
        # 1. leave=False: the finished bar is cleared
        """
        for step in progress(range(5), desc="inner", leave=False):
            pass
        print("after")
        """,
        # 2. a Jupyter server started this kernel: the widget
        """
        os.environ["JPY_SESSION_NAME"] = "exercise.ipynb"
        for step in progress(range(5), desc="widget"):
            pass
        """,
        # 3. ... but without ipywidgets: the text display, and no warning from tqdm.auto
        """
        sys.modules["ipywidgets"] = None
        for step in progress(range(5), desc="no widgets", mode="widget"):
            pass
        """,
        # 4. switched off
        """
        os.environ["LOSSBOOK_PROGRESS"] = "0"
        for step in progress(range(5), desc="off"):
            pass
        """,
    ])
    assert not _stderr(nb), _stderr(nb)
    for cell in nb.cells:
        streams = [o.text for o in cell.outputs if o.output_type == "stream"]
        assert not any("\r" in s for s in streams), streams

    (headless,) = nb.cells[0].outputs
    assert headless.output_type == "display_data" and WIDGET_VIEW not in headless.data
    assert headless.data["text/plain"].startswith("training: 100%")
    assert "40/40" in headless.data["text/plain"] and "\r" not in headless.data["text/plain"]

    cleared, after = nb.cells[1].outputs
    assert cleared.data == {"text/plain": "", "text/html": ""} and after.text == "after\n"

    (widget,) = nb.cells[2].outputs
    assert WIDGET_VIEW in widget.data

    (fallback,) = nb.cells[3].outputs
    assert WIDGET_VIEW not in fallback.data
    assert fallback.data["text/plain"].startswith("no widgets: 100%")

    assert nb.cells[4].outputs == []


@pytest.mark.slow
@pytest.mark.xdist_group("progress-book")
def test_a_page_with_a_bar_builds_under_the_books_stderr_rule(tmp_path):
    """A one-page Sphinx + myst-nb build with the book's settings (-W, stderr is a warning)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent("""
        project = "progress"
        extensions = ["myst_nb"]
        nb_execution_mode = "force"
        nb_execution_raise_on_error = True
        nb_output_stderr = "warn"
        exclude_patterns = ["_build"]
    """))
    (src / "index.md").write_text("# Progress\n\n```{toctree}\npage\n```\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A page that trains"),
        nbformat.v4.new_code_cell("from lossbook.notebook import progress\n"
                                  "for step in progress(range(25), desc='training'):\n"
                                  "    pass"),
        nbformat.v4.new_code_cell("for step in progress(range(5), desc='cleared', leave=False):\n"
                                  "    pass"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, src / "page.ipynb")
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "-q", "-b", "html",
                           str(src), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (out / "page.html").read_text()
    assert "training: 100%" in html and "25/25" in html
    assert WIDGET_VIEW not in html  # a widget without a live kernel shows nothing on the site
    assert "cleared:" not in html  # a bar with leave=False leaves nothing, not even an empty box
    assert not re.search(r"<pre>(<span></span>)?\s*</pre>", html)


# ----------------------------------------------------------------------------- glue
def test_glue_returns_the_value_and_records_python_numbers(monkeypatch):
    import numpy as np

    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.update(
        {name: (value, display)}))
    x = np.float64(1.5)
    assert notebook.glue("ratio", x) is x  # the caller keeps its own object
    value, display = seen["ratio"]
    assert type(value) is float and value == 1.5 and display is False


@pytest.mark.parametrize("name", ["", "two words", "1st", None])
def test_glue_refuses_a_name_the_roles_cannot_use(name):
    from lossbook.notebook import glue

    with pytest.raises(ValueError, match="name must be"):
        glue(name, 1.0)
