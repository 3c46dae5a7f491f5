"""The pages of the book, as _toc.yml lists them (chapters' section pages included)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_pages(root: Path = ROOT) -> list[str]:
    """Every page of _toc.yml (``book/...``, no suffix), sections included, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections"))

    return [toc["root"]] + [p for part in toc.get("parts", []) for p in walk(part.get("chapters"))]


def chapters(root: Path = ROOT) -> dict[str, list[str]]:
    """The chapters (the "Chapters" part of _toc.yml): landing page -> its pages in reading
    order, the landing page first."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return {ch["file"]: [ch["file"]] + [sec["file"] for sec in ch.get("sections", [])]
            for part in toc.get("parts", []) if part.get("caption") == "Chapters"
            for ch in part["chapters"]}
