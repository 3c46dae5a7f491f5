"""Notebooks: committed clean, set up the same way, and executable without error or stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from prose_words import MAX_WORDS, page_markdown, prose_words  # noqa: E402
from toc import toc_pages as toc_files  # noqa: E402 (every page of _toc.yml, sections included)
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
ALL_NOTEBOOKS = sorted([*ROOT.glob("book/**/*.ipynb"), *SOLUTIONS,
                        *(ROOT / "exercises").glob("*/*.ipynb")])


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_committed_without_outputs_and_with_a_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} have outputs: clear them before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_setup_cells_are_in_sync_with_tools_setup_cell():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_setup_cells.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_setup_cell_names_the_pip_spec_once():
    text = (ROOT / "tools" / "setup_cell.py").read_text()
    assert text.count("git+https://") == 1 and "LOSSBOOK_PIP_SPEC" in text


@pytest.mark.parametrize("page", toc_files())
def test_every_page_that_runs_code_is_an_ipynb(page):
    """Colab opens only .ipynb: a page with code must be a notebook, not a MyST .md."""
    matches = [p for p in (ROOT / Path(page).parent).glob(Path(page).name + ".*")]
    assert len(matches) == 1, f"{page}: expected one file, found {matches}"
    if matches[0].suffix == ".md":
        text = matches[0].read_text()
        assert "{code-cell}" not in text and "jupytext" not in text, (
            f"{page}.md runs code: make it an .ipynb so the Colab button works")


@pytest.mark.parametrize("page", toc_files())
def test_no_page_is_longer_than_a_sitting(page):
    """Readable length: at most about 3,500 words of prose a page (tools/prose_words.py)."""
    words = prose_words(page_markdown(page))
    assert words <= MAX_WORDS, f"{page}: {words} words of prose; split it (the limit is {MAX_WORDS})"


def test_prose_words_counts_prose_only():
    text = """# A title

Two words, and $x^2 + y$ math, `code`, a {term}`glossary entry <loss>` and [a link](x.md).

```python
print("not prose at all")
```

$$
a = b + c
$$

```{exercise} An exercise title
:label: c00-ex-count

Answer this question.
```
"""
    # "A title" (2); "Two words and math a glossary entry and a link" (10: not the formula, the
    # code or the link's target); "Answer this question" (3: the body of the exercise, not its
    # fence line or its :label: option); nothing from the code block or the display math.
    assert prose_words(text) == 2 + 10 + 3
    assert prose_words("```python\nx = 1\n```") == 0
    assert prose_words("one two three") == 3


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_runs_cleanly(path):
    nb = _execute(path)
    stderr = [(i, o.text) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"cells wrote to stderr (nbgrader scores such a test cell 0): {stderr}"
