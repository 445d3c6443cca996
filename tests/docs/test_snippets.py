"""Every ```python block of the docs (docs/**/*.md) and of README.md runs, one test per page.

The rules a page's blocks follow are in tests/docs/harness.py (and, for doc authors, in the
"Runnable snippets" note of the docs' contributing guide): untitled blocks share the page's
namespace; ``title="shop/polar.py"`` blocks are that module; setup the reader needn't see
goes in ``<!-- invisible-code-block: python ... -->`` comments. Nothing is skipped.
"""

from __future__ import annotations

import pytest

from tests.docs import harness

PAGES = harness.documents()


def page_id(path):
    return str(path.relative_to(harness.ROOT))


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_python_blocks_run(path, request, polar_fake):
    document = harness.parse(path)
    examples = list(document.examples())
    with harness.page_namespace(document, polar_fake, request.getfixturevalue):
        for example in examples:
            example.evaluate()


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_every_python_fence_is_a_runnable_block(path):
    """No Python block escapes the harness."""
    assert harness.fence_problems(path) == []
