"""The documentation site's shape: every page under docs/ is reachable from the navigation
of mkdocs.yml, and every navigation entry is a page (scripts/docs builds it strictly too)."""

from __future__ import annotations

import re
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


SITE = "https://django-polar-checkouts.readthedocs.io/en/latest/"


def _page_for(url_path: str) -> str:
    """The docs/ page mkdocs serves at ``SITE + url_path`` (directory URLs)."""
    return "index.md" if url_path == "" else url_path.rstrip("/") + ".md"


def test_the_readme_links_into_the_site_and_nowhere_relative():
    """README.md is also the package's page on PyPI, where a relative link is a 404: it
    links the published site, and each link names a page the site has. (Links name pages,
    not headings: a heading's anchor is not checked here, the site's strict build checks
    the site's own.)"""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r"<(https?://[^>\s]+)>", readme)
    relative = [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert not relative, f"relative links in README.md (a 404 on PyPI): {relative}"
    into_site = [t for t in targets if t.startswith(SITE)]
    assert len(into_site) > 20, "the README's links into the site are gone"
    for target in into_site:
        url_path, _, anchor = target[len(SITE) :].partition("#")
        assert not anchor, f"{target}: link the page, not a heading"
        page = DOCS / _page_for(url_path)
        assert page.is_file(), f"{target}: the site has no page docs/{_page_for(url_path)}"
