"""Relative links and #anchors of Markdown files as GitHub renders them (the README is not in the
MkDocs site, whose --strict build checks the pages under docs/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [label](target) and ![alt](target), not inside inline code; the target up to a space or ")".
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


@dataclass(frozen=True)
class Broken:
    source: Path
    line: int
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.target} ({self.why})"


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the text as rendered, lower case, punctuation dropped, spaces
    to hyphens (underscores and hyphens kept)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's label only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors a Markdown file has: its headings' (repeats numbered -1, -2, as GitHub does) and
    explicit <a name/id>."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(text):
        found |= set(_HTML_ANCHOR.findall(line))
        if m := _HEADING.match(line):
            base = slug(m.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link outside code."""
    return [
        (number, m.group(1)) for number, line in _prose_lines(text) for m in _LINK.finditer(_INLINE_CODE.sub("", line))
    ]


def broken_links(source: Path, root: Path) -> list[Broken]:
    """Links of `source` to files or anchors that do not exist; web links are not followed, links
    leaving the repository `root` count as broken."""
    out = []
    text = source.read_text()
    for number, target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        path_part, _, fragment = target.partition("#")
        dest = (source.parent / unquote(path_part)).resolve() if path_part else source
        if path_part and not dest.is_relative_to(root.resolve()):
            out.append(Broken(source, number, target, "outside the repository"))
        elif not dest.exists():
            out.append(Broken(source, number, target, "no such file"))
        elif fragment and dest.suffix == ".md" and unquote(fragment) not in anchors(dest.read_text()):
            out.append(Broken(source, number, target, f"{dest.name} has no heading with this anchor"))
        elif fragment and dest.suffix != ".md":
            out.append(Broken(source, number, target, "an anchor into a file that is not Markdown"))
    return out
