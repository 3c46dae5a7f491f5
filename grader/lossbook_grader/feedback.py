"""Feedback without hidden tests: :class:`HideHiddenTests`, a preprocessor of nbgrader's
``GenerateFeedback``.

At autograde time nbgrader restores every test cell from its gradebook, hidden tests included
(between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``), and ``generate_feedback``
renders that notebook as it is: without this step every student's feedback would hold every
hidden test, and the traceback of a failing hidden ``assert`` would print its line (nbgrader
issue #917). :func:`lossbook_grader.config.configure` puts this preprocessor into
``GenerateFeedback.preprocessors`` (after nbgrader's ``GetGrades``), so that plain
``nbgrader generate_feedback`` and ``lossbook-grade`` both use it. For every test cell that held
hidden tests it

* keeps only the visible part of the source (what the student's own notebook shows), with a
  line saying that hidden checks ran;
* replaces the cell's outputs (tracebacks, prints of the hidden part) by one plain explanation:
  the message of the failing ``assert`` when the test gave one in words
  (``assert ok, "the gradient at |r| = 1e4 is NaN"``), the ban's message for a forbidden call,
  the failing visible line when a visible check failed, the error's type and message when the
  student's code raised, and otherwise "a hidden check failed";
* clears the cell's outputs' metadata, so that nothing of the hidden source survives anywhere in
  the HTML.

Test cells without hidden tests keep their outputs: students see those tests anyway.

Authors of hidden tests: give every hidden ``assert`` a message in words that explains the
failure without revealing the test ("value differs from the reference at delta = 0.5", "the
loss is NaN for logits of size 1e3"); a bare ``assert`` only earns "a hidden check failed".
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode

__all__ = ["HideHiddenTests", "explain", "visible_source"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>|input [^,]*), line (\d+)")
NOTE = "# (hidden checks ran here; they are not shown)"


def _split(source: str, begin: str, end: str) -> tuple[list[str], int | None]:
    """The visible lines of a test cell and the 1-based line where hidden tests begin."""
    visible: list[str] = []
    first_hidden: int | None = None
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        if begin in line:
            inside = True
            first_hidden = first_hidden or number
        elif end in line:
            inside = False
        elif not inside:
            visible.append(line)
    return visible, first_hidden


def visible_source(source: str, begin: str = "BEGIN HIDDEN TESTS",
                   end: str = "END HIDDEN TESTS") -> str:
    """``source`` without its hidden tests (and without the markers).

    Example:
        >>> visible_source("assert f(1) == 1\\n### BEGIN HIDDEN TESTS\\nassert f(2) == 5\\n"
        ...                "### END HIDDEN TESTS")
        'assert f(1) == 1'
    """
    return "\n".join(_split(source, begin, end)[0]).rstrip()


def _failing_line(traceback: list[str]) -> int | None:
    """The line of the test cell where the error came from (its first frame), if shown."""
    for entry in traceback:
        match = CELL_LINE.search(ANSI.sub("", entry))
        if match:
            return int(match.group(1))
    return None


def explain(output: NotebookNode, source: str, begin: str = "BEGIN HIDDEN TESTS",
            end: str = "END HIDDEN TESTS") -> str:
    """A failed test cell's error output, in words that reveal no hidden line."""
    ename = str(output.get("ename", "Error"))
    evalue = ANSI.sub("", str(output.get("evalue", ""))).strip()
    lines = source.splitlines()
    _visible, first_hidden = _split(source, begin, end)
    line = _failing_line(list(output.get("traceback", [])))
    in_visible = line is not None and (first_hidden is None or line < first_hidden) and \
        0 < line <= len(lines)
    if ename == "AssertionError" or ename == "BanViolation":
        if evalue:
            return f"A check failed: {evalue}"
        if in_visible:
            return f"A visible check failed: {lines[line - 1].strip()}"  # type: ignore[index]
        return "A hidden check failed."
    if ename == "NotImplementedError":
        return "This part is not answered yet (NotImplementedError)."
    where = "a visible check" if in_visible else "a check"
    return f"Your code raised {ename} during {where}" + (f": {evalue}" if evalue else ".")


class HideHiddenTests(Preprocessor):
    """Strip hidden tests from the feedback notebook and explain their failures in words."""

    # nbgrader registers its steps as classes; nbconvert runs a step only when it is enabled
    enabled = Bool(True, help="Strip hidden tests from feedback (leave on).").tag(config=True)
    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS",
                                   help="The line marking the start of hidden tests "
                                        "(nbgrader's ClearHiddenTests spelling).").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS",
                                 help="The line marking the end of hidden tests.").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type != "code":
            return cell, resources
        source = cell.source
        begin, end = self.begin_test_delimeter, self.end_test_delimeter
        if begin not in source and end not in source:
            return cell, resources
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        visible = visible_source(source, begin, end)
        cell.source = (visible + "\n" if visible else "") + NOTE
        if errors:
            text = explain(errors[-1], source, begin, end)
            cell.outputs = [NotebookNode(output_type="error", ename="CheckFailed",
                                         evalue=text, traceback=[text])]
        else:
            cell.outputs = []  # passed: prints of the hidden part are not shown either
        cell.metadata.pop("lossbook", None)
        return cell, resources
