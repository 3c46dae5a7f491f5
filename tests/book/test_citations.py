"""Every paper the course names by author and year is in book/references.bib, and is cited.

A mention is an author list followed by a year: "Huber (1964)", "Lin et al., 2017",
"Hermans, Beyer and Leibe (2017", "Chopra & LeCun, 2006". Each must match a bibliography entry
(the year, and at least one of the surnames named among the entry's authors). On the book's
pages the matching entry must also be cited with a ``{cite}`` role on the same page, so that the
reader can click through to it. Docstrings (lossbook/*.py), the exercises' sources
(solutions/) and the README need the bibliography entry (they cannot all use the role).
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from pathlib import Path

import latexcodec  # noqa: F401 - registers the "ulatex" codec
import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[2]
BIB = parse_file(str(ROOT / "book" / "references.bib"))

NAME = r"[A-Z][\w'\u2019-]+"
AUTHORS = rf"{NAME}(?:\s+et\s+al\.)?(?:,\s+{NAME})*(?:,?\s+(?:and|&)\s+{NAME})?"
MENTION = re.compile(rf"({AUTHORS}),?\s+\(?((?:19|20)\d\d)[a-z]?\b")
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
# Capitalised words that can stand before a year without being an author.
NOT_AUTHORS = {"January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December", "Python", "Copyright", "Since",
               "In", "From", "Until", "Debian", "Ubuntu", "Colab", "NeurIPS", "ICML", "ICLR",
               "CVPR", "ICCV", "ECCV", "SIGIR", "KDD", "CIKM", "ACL", "EMNLP", "NAACL", "AAAI",
               "IJCAI", "WWW", "Proceedings", "Transactions"}


def _plain(text: str) -> str:
    """A surname as a reader types it: LaTeX accents decoded, accents dropped, braces gone."""
    text = codecs.decode(text.replace("{", "").replace("}", ""), "ulatex")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _bib_index() -> dict[str, set[str]]:
    """year -> the entry keys of that year; with SURNAMES[key] the surnames of each entry."""
    by_year: dict[str, set[str]] = {}
    for key, entry in BIB.entries.items():
        by_year.setdefault(entry.fields["year"], set()).add(key)
    return by_year


BY_YEAR = _bib_index()
SURNAMES = {
    key: {_plain(word) for person in entry.persons.get("author", [])
          for part in person.last_names for word in [part, *part.split()]}
    for key, entry in BIB.entries.items()
}


def mentions(text: str) -> list[tuple[str, str, set[str]]]:
    """(mention, year, candidate bibliography keys) for every author-year mention in text."""
    found = []
    for match in MENTION.finditer(text):
        names = [n for n in re.findall(NAME, match.group(1)) if n not in NOT_AUTHORS]
        if not names:
            continue
        year = match.group(2)
        wanted = {_plain(n) for n in names}
        keys = {k for k in BY_YEAR.get(year, ()) if wanted & SURNAMES[k]}
        found.append((match.group(0), year, keys))
    return found


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells)
    return path.read_text()


BOOK_PAGES = sorted(p for p in [*ROOT.glob("book/**/*.ipynb"), *ROOT.glob("book/**/*.md")]
                    if ".ipynb_checkpoints" not in p.parts)
OTHER_TEXTS = sorted([*ROOT.glob("lossbook/*.py"), *ROOT.glob("solutions/*/*.ipynb"),
                      ROOT / "README.md"])


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", BOOK_PAGES + OTHER_TEXTS, ids=_id)
def test_every_paper_named_is_in_the_bibliography(path):
    missing = [m for m, _, keys in mentions(_text(path)) if not keys]
    assert not missing, (f"{_id(path)} names papers that book/references.bib lacks "
                         f"(author and year must match an entry): {missing}")


@pytest.mark.parametrize("path", BOOK_PAGES, ids=_id)
def test_every_paper_named_on_a_page_is_cited_there(path):
    text = _text(path)
    cited = {key.strip() for group in CITE.findall(text) for key in group.split(",")}
    uncited = [m for m, _, keys in mentions(text) if keys and not keys & cited]
    assert not uncited, f"{_id(path)} names papers without a {{cite}} role to them: {uncited}"


def test_every_cited_key_exists():
    for path in BOOK_PAGES:
        for group in CITE.findall(_text(path)):
            for key in group.split(","):
                assert key.strip() in BIB.entries, f"{_id(path)}: unknown citation key {key!r}"


@pytest.mark.parametrize("text, expected", [
    ("as Huber (1964) showed", ["huber1964robust"]),
    ("focal loss (Lin et al., 2017)", ["lin2017focal"]),
    ("Hadsell, Chopra & LeCun (2006)", ["hadsell2006dimensionality"]),
    ("van den Oord et al., 2018", ["oord2018representation"]),
    ("Järvelin and Kekäläinen (2002)", ["jarvelin2002cumulated"]),
    ("Huber (1965)", []),        # wrong year: no entry, a failure
    ("Nobody et al. (2017)", []),  # unknown author: no entry, a failure
])
def test_the_mention_finder_on_known_cases(text, expected):
    (found,) = mentions(text)
    assert sorted(found[2]) == expected


def test_dates_are_not_mentions():
    assert mentions("released in March 2024, tested on Python 3.11 in 2026") == []
