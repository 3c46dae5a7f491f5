"""Count the words of prose on each page of the book (the reading length of a page).

    python tools/prose_words.py            # every page of _toc.yml, longest first
    python tools/prose_words.py PAGE ...   # some pages (book/01-regression/2-robust-losses ...)

Prose is the Markdown a reader reads: paragraphs, lists, headings, admonitions, exercises and
their answers. Not counted: code (code cells, fenced code blocks), math ($...$, $$...$$,
``{math}`` blocks), directive options (``:label: ...``), HTML tags and link targets. A word is a
run of letters (with inner apostrophes or hyphens), so numbers do not count.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

from toc import toc_pages

ROOT = Path(__file__).resolve().parents[1]
MAX_WORDS = 3500  # "at most about 3,500 words of prose" per page

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
# Directives whose body is prose (admonitions, exercises); every other fence holds code or math.
_CODE_DIRECTIVES = ("{code", "{math", "{raw", "{eval-rst", "{glue", "{list-table", "{tableofcontents")


def prose_words(markdown: str) -> int:
    """The number of words of prose in a Markdown (MyST) text."""
    kept, stack = [], []  # stack of (fence, is_code) for the open fenced blocks
    for line in markdown.splitlines():
        m = _FENCE.match(line.strip())
        if m:
            fence, info = m.group("fence"), m.group("info").strip()
            if stack and not info and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]):
                stack.pop()
                continue
            if info or not stack:
                stack.append((fence, not info.startswith("{") or info.startswith(_CODE_DIRECTIVES)))
                continue
        if any(code for _, code in stack) or re.match(r"^\s*:[\w-]+:", line):
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"\{[\w:-]+\}`([^`<]*)(<[^`]*>)?`", r" \1 ", text)  # {term}`shown <target>`
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"^\([\w-]+\)=\s*$", " ", text, flags=re.M)  # (label)=
    return len(re.findall(r"[A-Za-z]+(?:['’-][A-Za-z]+)*", text))


def page_markdown(page: str) -> str:
    """The Markdown of a page of _toc.yml (``book/...`` without suffix)."""
    path = next(p for p in (ROOT / f"{page}.ipynb", ROOT / f"{page}.md") if p.exists())
    if path.suffix == ".md":
        return path.read_text()
    nb = nbformat.read(path, as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def main(argv: list[str]) -> int:
    pages = argv or toc_pages()
    counts = sorted(((prose_words(page_markdown(p)), p) for p in pages), reverse=True)
    for words, page in counts:
        print(f"{words:6d}  {page}{'   <- over ' + str(MAX_WORDS) if words > MAX_WORDS else ''}")
    return 1 if counts and counts[0][0] > MAX_WORDS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
