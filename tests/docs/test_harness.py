"""The doc-snippet harness itself (tests/docs/harness.py), on pages written here: what it
runs, how titled blocks become modules, that test functions are called, that nothing a
page connects or installs outlives it, and that no Python block escapes it."""

from __future__ import annotations

import sys
import textwrap

import pytest
from django.dispatch import Signal

from tests.docs import harness

pytestmark = pytest.mark.django_db


def run_page(tmp_path, text, request, polar_fake, name="page.md"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    document = harness.parse(path)
    with harness.page_namespace(document, polar_fake, request.getfixturevalue):
        for example in document.examples():
            example.evaluate()
    return document.namespace


def test_untitled_blocks_share_the_page_namespace(tmp_path, request, polar_fake):
    namespace = run_page(
        tmp_path,
        """
        ```python
        total = 19
        ```

        <!-- invisible-code-block: python
        total += 1
        -->

        ```python
        assert total == 20
        fake_seen = polar_fake
        ```
        """,
        request,
        polar_fake,
    )
    assert namespace["total"] == 20
    assert namespace["fake_seen"] is polar_fake


def test_a_failing_block_fails_its_page_at_its_line(tmp_path, request, polar_fake):
    with pytest.raises(AssertionError) as caught:
        run_page(tmp_path, "Text.\n\n```python\nassert 1 == 2\n```\n", request, polar_fake)
    frames = [entry for entry in caught.traceback if str(entry.path).endswith("page.md")]
    assert frames
    assert frames[-1].lineno + 1 == 4


def test_titled_blocks_are_modules_removed_after_the_page(tmp_path, request, polar_fake):
    namespace = run_page(
        tmp_path,
        """
        ```python title="docshop/settings.py"
        DEBUG = False
        NAMES = ["first"]
        ```

        ```python title="docshop/settings.py"
        # add to the end of docshop/settings.py
        NAMES.append("second")
        ```

        ```python title="docshop/hooks.py"
        from .settings import NAMES
        def names():
            return NAMES
        ```

        ```python
        from django.utils.module_loading import import_string
        hooked = import_string("docshop.hooks.names")()
        import docshop.settings
        debug_file = docshop.settings.__file__
        ```
        """,
        request,
        polar_fake,
    )
    assert namespace["hooked"] == ["first", "second"]
    assert namespace["debug_file"].endswith("docshop/settings.py")
    assert "docshop" not in sys.modules
    assert "docshop.settings" not in sys.modules


def test_a_titled_block_without_the_phrase_replaces_the_file(tmp_path, request, polar_fake):
    with pytest.raises(NameError):
        run_page(
            tmp_path,
            """
            ```python title="docshop/settings.py"
            NAMES = ["first"]
            ```

            ```python title="docshop/settings.py"
            NAMES.append("second")
            ```
            """,
            request,
            polar_fake,
        )
    assert "docshop.settings" not in sys.modules


def test_a_title_may_not_hide_an_installed_module(tmp_path, request, polar_fake):
    with pytest.raises(ValueError, match="would hide"):
        run_page(tmp_path, '```python title="json.py"\nX = 1\n```\n', request, polar_fake)
    assert hasattr(sys.modules["json"], "dumps")


def test_test_functions_a_block_defines_are_called(tmp_path, request, polar_fake):
    namespace = run_page(
        tmp_path,
        """
        ```python
        calls = []

        def test_buying(polar_fake, settings):
            calls.append((polar_fake, settings.ROOT_URLCONF))
            polar_fake.add_product("Only in this test", price_amount=100)
        ```
        """,
        request,
        polar_fake,
    )
    assert namespace["calls"] == [(polar_fake, "tests.urls")]
    with pytest.raises(AssertionError):
        run_page(
            tmp_path,
            "```python\ndef test_broken(polar_fake):\n    assert polar_fake is None\n```\n",
            request,
            polar_fake,
            name="broken.md",
        )


def test_each_test_function_starts_with_a_reset_fake(tmp_path, request, polar_fake):
    run_page(
        tmp_path,
        """
        ```python
        def test_adds(polar_fake):
            polar_fake.add_product("Added", price_amount=100)

        def test_does_not_see_it(polar_fake):
            assert "Added" not in [p["name"] for p in polar_fake.products.values()]
        ```
        """,
        request,
        polar_fake,
    )


def test_receivers_a_page_connects_are_disconnected_after_it(tmp_path, request, polar_fake):
    signal = Signal()
    path = tmp_path / "signal.md"
    path.write_text(
        "```python\nfrom django.dispatch import receiver\nheard = []\n\n"
        "@receiver(doc_signal)\ndef listen(sender, **kwargs):\n    heard.append(sender)\n\n"
        'doc_signal.send(sender="during")\n```\n'
    )
    document = harness.parse(path)
    with harness.page_namespace(document, polar_fake, request.getfixturevalue):
        document.namespace["doc_signal"] = signal
        for example in document.examples():
            example.evaluate()
    signal.send(sender="after")
    assert document.namespace["heard"] == ["during"]


def test_fence_problems_name_python_blocks_the_harness_would_not_run(tmp_path):
    path = tmp_path / "page.md"
    path.write_text("```py\nx = 1\n```\n\n```Python\ny = 2\n```\n\n```python\nz = 3\n```\n")
    assert harness.fence_problems(path) == [
        "line 1: write ```python, not ```py",
        "line 5: write ```python, not ```Python",
    ]
    path.write_text('- item\n\n  ```python title="a.py"\n  x = 1\n  ```\n')
    assert harness.fence_problems(path) == []
