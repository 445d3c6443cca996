"""The documentation site's shape: every page under docs/ is reachable from the navigation
of mkdocs.yml, and every navigation entry is a page (scripts/docs builds it strictly too)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.docs.harness import ROOT

DOCS = ROOT / "docs"


class _Loader(yaml.SafeLoader):
    """mkdocs.yml uses mkdocs' ``!ENV`` tag; its value does not matter here."""


_Loader.add_constructor("!ENV", lambda loader, node: None)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix)


def mkdocs_config() -> dict[str, Any]:
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)


def nav_pages(entries: Any) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            pages.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                pages.extend([value] if isinstance(value, str) else nav_pages(value))
    return pages


def site_pages() -> set[str]:
    return {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}


def test_every_page_is_in_the_navigation():
    in_nav = set(nav_pages(mkdocs_config()["nav"]))
    missing = sorted(site_pages() - in_nav)
    assert not missing, f"pages no navigation entry leads to (add them to mkdocs.yml): {missing}"


def test_every_navigation_entry_is_a_page():
    entries = nav_pages(mkdocs_config()["nav"])
    assert len(entries) == len(set(entries)), "a page is in the navigation twice"
    absent = [entry for entry in entries if not (DOCS / entry).is_file()]
    assert not absent, f"navigation entries without their page: {absent}"


def test_the_home_page_leads_to_every_section():
    """index.md is the map of the site: it links every section's first page."""
    home = (DOCS / "index.md").read_text()
    for section in mkdocs_config()["nav"][1:]:
        ((title, value),) = section.items()
        first = value if isinstance(value, str) else nav_pages(value)[0]
        assert f"]({first}" in home, f"index.md does not link {title} ({first})"
