"""The course's own rules for hidden tests, checked on every source notebook in solutions/.

* Every ban is declared properly: each entry parses, is used, and is named in the part's text
  (:func:`lossbook_grader.ban.check_declarations`).
* No hidden block bans with ``mock.patch``: a patched attribute leaves every other path to the
  same code open (submodules, names bound earlier, ``importlib``); :class:`Ban` closes them.
* Every ``assert`` in a hidden block has a message: the feedback shows that message and nothing
  else of a hidden test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from lossbook_grader.ban import _declared_bans as _declared
from lossbook_grader.ban import check_declarations, hidden_block
from lossbook_grader.course import ROOT, graded_cells

SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def _hidden_blocks(path: Path) -> list[tuple[str, str]]:
    out = []
    for cell in nbformat.read(path, as_version=4).cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        if "### BEGIN HIDDEN TESTS" in cell.source:
            out.append((gid, hidden_block(cell.source)))
    return out


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_bans_are_declared_and_named(path):
    assert check_declarations(path) == []


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_no_hidden_block_patches_with_mock(path):
    for gid, block in _hidden_blocks(path):
        assert "mock.patch" not in block and "unittest import mock" not in block, gid


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_every_hidden_assert_explains_itself_in_words(path):
    for gid, block in _hidden_blocks(path):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Assert):
                assert isinstance(node.msg, (ast.Constant, ast.JoinedStr)), \
                    f"{gid}, line {node.lineno} of its hidden block: an assert without a message in words"


def test_every_write_it_yourself_part_bans():
    """Each assignment declares bans in its hidden tests (at least one per notebook)."""
    for path in SOURCES:
        assert any("Ban(" in block for _, block in _hidden_blocks(path)), path.parent.name


# ------------------------------------------------------------------ what every assignment sets
RUBRIC = re.compile(r"\*\*Rubric \((\d+) points?\)\*\*")
RUBRIC_ITEM = re.compile(r"^\s*[-*] (\d+) points?:", flags=re.M)


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_header_states_points_and_the_time_a_student_needs(path):
    """25 to 40 points, stated in the header with the number of written parts and the time a
    student should plan for."""
    header = _cells(path)[0].source
    total = sum(pts for pts, _ in graded_cells(path).values())
    written = sum(1 for _, manual in graded_cells(path).values() if manual)
    assert 25 <= total <= 40, f"{path.parent.name}: {total} points"
    assert re.search(rf"\*\*Points: {total:g}\b", header), f"the header must say 'Points: {total:g}'"
    assert re.search(rf"\b{written} written\b", header), \
        f"the header must count the {written} written (manually graded) part(s)"
    assert re.search(r"Expect to spend about \d+(?:\.\d+)? hours", header), \
        "the header must say 'Expect to spend about N hours' (the student's time)"


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_written_parts_are_markdown_answers_with_a_rubric(path):
    """At least one written part, graded by hand; each is a markdown answer cell whose source
    (in solutions/ only) holds a model answer and a rubric whose items add up to its points,
    and the release replaces it with an empty answer."""
    written = {gid: pts for gid, (pts, manual) in graded_cells(path).items() if manual}
    assert written, f"{path.parent.name} has no written (manually graded) part"
    release = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
               for c in _cells(ROOT / "exercises" / path.parent.name / path.name)}
    for cell in _cells(path):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid not in written:
            continue
        assert cell.cell_type == "markdown", f"{gid}: a written part is a markdown cell"
        head = RUBRIC.search(cell.source)
        assert head, f"{gid}: no '**Rubric (N points)**' in the model answer"
        items = [int(n) for n in RUBRIC_ITEM.findall(cell.source[head.end():])]
        assert int(head.group(1)) == written[gid] == sum(items), \
            f"{gid}: {written[gid]} points, rubric says {head.group(1)}, its items add to {sum(items)}"
        assert "Rubric" not in release[gid] and head.group(0) not in release[gid], \
            f"{gid}: the rubric is in the release"


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_a_gradient_is_derived_by_hand(path):
    """At least one part asks for a gradient by hand: its hidden test bans automatic
    differentiation, and checks the answer against central differences and against autograd."""
    found = []
    for gid, block in _hidden_blocks(path):
        bans = [spec for specs, _ in _declared(block).values() for spec in specs]
        if ("autograd" in bans and "central_difference" in block
                and (".backward(" in block or "autograd.grad(" in block)):
            found.append(gid)
    assert found, (f"{path.parent.name}: no part whose hidden test bans autograd and checks a "
                   "hand-derived gradient against central differences and autograd")


def test_the_coverage_table_names_real_graded_parts():
    """The instructor page maps every main loss of every chapter to graded parts; each part it
    names exists, graded, in the assignment it names, and every assignment appears."""
    page = (ROOT / "book" / "for-instructors.md").read_text()
    start = page.index("(coverage)=")
    end = page.index("\n#", page.index("\n", start + 12))
    rows = [line for line in page[start:end].splitlines()
            if line.startswith("|") and not set(line) <= set("|- ")][1:]
    assert len(rows) >= 30, f"only {len(rows)} rows in the coverage table"
    seen = set()
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 3 and cells[2], row
        for name, ids in re.findall(r"`(\d\d-[a-z-]+)`: ((?:`[a-z0-9_]+`(?:, )?)+)", cells[2]):
            source = next((ROOT / "solutions" / name).glob("*.ipynb"))
            graded = graded_cells(source)
            for gid in re.findall(r"`([a-z0-9_]+)`", ids):
                assert gid in graded or f"test_{gid}" in graded, f"{name} has no graded part {gid}"
            seen.add(name)
        assert re.search(r"`\d\d-[a-z-]+`: `", cells[2]), f"a row without a graded part: {row}"
    assert seen == {p.parent.name for p in SOURCES}
