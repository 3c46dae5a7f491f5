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
from pathlib import Path

import nbformat
import pytest

from lossbook_grader.ban import check_declarations, hidden_block
from lossbook_grader.course import ROOT

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
