"""The Markdown files outside the documentation site link only to what exists.

`mkdocs build --strict` (`make docs`, `make lint`) checks the links between the pages under docs/ and
their anchors; the README and the CHANGELOG are not pages of the site, so their relative links and
#anchors are checked here, as GitHub resolves them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.markdown_links import anchors, broken_links, links, slug

REPO = Path(__file__).resolve().parents[2]
OUTSIDE_THE_SITE = ["README.md", "CHANGELOG.md"]


@pytest.mark.parametrize("name", OUTSIDE_THE_SITE)
def test_relative_links_and_anchors_resolve(name: str) -> None:
    broken = broken_links(REPO / name, REPO)
    assert not broken, "\n".join(map(str, broken))


def test_the_readme_links_every_page_of_the_site() -> None:
    """The README's table of pages and mkdocs.yml's nav list the same pages."""

    def pages(nav: list[object]) -> set[str]:
        found: set[str] = set()
        for entry in nav:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found |= pages(value) if isinstance(value, list) else {str(value)}
        return found

    nav = pages(yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]) - {"index.md"}
    linked = {target.partition("#")[0] for _, target in links((REPO / "README.md").read_text())}
    assert {f"docs/{page}" for page in nav} <= linked, "pages in mkdocs.yml the README does not link"
    on_disk = {p.name for p in (REPO / "docs").glob("*.md")} - {"index.md"}
    assert on_disk == nav, "docs/*.md and mkdocs.yml's nav differ"


def test_the_site_includes_the_readme_quick_start() -> None:
    readme = (REPO / "README.md").read_text()
    start, end = "<!-- --8<-- [start:quickstart] -->", "<!-- --8<-- [end:quickstart] -->"
    section = readme[readme.index("## Start in two commands") :]
    assert section.index(start) < section.index(end) < section.index("\n## "), "markers inside the section"
    assert '--8<-- "README.md:quickstart"' in (REPO / "docs" / "index.md").read_text()


def test_anchors_are_githubs() -> None:
    assert slug("Acting as the caller") == "acting-as-the-caller"
    assert slug("ECS Exec (issue 31)") == "ecs-exec-issue-31"
    assert slug("`helm upgrade` and [rollback](x.md)") == "helm-upgrade-and-rollback"
    text = '# A\n\n```sh\n# not a heading\n```\n\n## Upgrading\n\n## Upgrading\n<a id="kept"></a>\n'
    assert anchors(text) == {"a", "upgrading", "upgrading-1", "kept"}


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "install.md").write_text("# Install\n\n## Upgrading\n")
    (tmp_path / "README.md").write_text(
        "# Title\n\n## Start here\n\n"
        "[ok](docs/install.md#upgrading) [ok](#start-here) [web](https://example.com/#x) `[code](nope.md)`\n"
        "[gone](docs/missing.md) [anchor](docs/install.md#upgrade)\n"
        "[self](#start) ![img](docs/x.png) [out](../elsewhere.md)\n"
        "```\n[fenced](nope.md)\n```\n"
    )
    found = {(b.line, b.target) for b in broken_links(tmp_path / "README.md", tmp_path)}
    assert found == {
        (6, "docs/missing.md"),
        (6, "docs/install.md#upgrade"),
        (7, "#start"),
        (7, "docs/x.png"),
        (7, "../elsewhere.md"),
    }
