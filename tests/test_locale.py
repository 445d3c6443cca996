"""The shipped translations: complete, compiled, and in step with the sources.

No gettext binary needed: the sources are read with Django's own template-to-gettext
conversion (what ``makemessages`` feeds to ``xgettext``) and Babel's Python extractor,
and the catalogues with Babel. ``cd polar_checkouts && django-admin makemessages -a``
then ``django-admin compilemessages`` regenerate them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.utils.translation.template import templatize

import polar_checkouts

PACKAGE = Path(polar_checkouts.__file__).parent
#: The languages shipped besides English (the source language).
LANGUAGES = ("fr", "de", "es", "pt_BR", "ja")

#: Django's translation functions, as Babel's keyword specs (``c``: the context argument).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}

Key = tuple[str | None, str]


def _key(message_id: str | Sequence[str], context: str | None) -> Key:
    singular = message_id if isinstance(message_id, str) else message_id[0]
    return (context, singular)


def source_messages() -> dict[Key, str]:
    """Every message the package's Python and templates mark, with where it is."""
    found: dict[Key, str] = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".html", ".txt") or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            # Django writes each message call on one line (repr'd); the text between
            # them is masked with X and may be indented like no Python: drop indents.
            templated = templatize(text, origin=str(path))
            text = "\n".join(line.strip() for line in templated.splitlines())
        messages = extract(
            "python", io.BytesIO(text.encode("utf-8")), keywords=KEYWORDS, comment_tags=()
        )
        for lineno, message, _comments, context in messages:
            found.setdefault(_key(message, context), f"{path.relative_to(PACKAGE)}:{lineno}")
    return found


def catalogue(language: str):
    with open(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as fh:
        return read_po(fh, locale=language)


def test_the_sources_mark_messages_at_all():
    messages = source_messages()
    assert (None, "Please choose a product.") in messages
    assert len(messages) > 150


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_holds_exactly_the_messages_of_the_sources(language):
    """A string added to a template or view without ``makemessages`` fails here."""
    sources = source_messages()
    shipped = {_key(m.id, m.context) for m in catalogue(language) if m.id}
    missing = sorted((k for k in sources if k not in shipped), key=str)
    stale = sorted((k for k in shipped if k not in sources), key=str)
    assert not missing, [f"{sources[k]}: {k[1]!r}" for k in missing]
    assert not stale, stale


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language):
    untranslated = []
    for message in catalogue(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            untranslated.append(message.id)
    assert not untranslated, untranslated
    problems = [
        (message.id, [str(error) for error in errors])
        for message, errors in catalogue(language).check()
    ]
    assert not problems, problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language):
    """The ``.mo`` Django loads says what the ``.po`` says (compile after every edit)."""

    def strings(message) -> tuple[str, ...]:
        value = message.string
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)

    with open(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.mo", "rb") as fh:
        compiled = {_key(m.id, m.context): strings(m) for m in read_mo(fh) if m.id}
    source = {_key(m.id, m.context): strings(m) for m in catalogue(language) if m.id}
    assert compiled == source


def test_the_package_data_ships_the_catalogues():
    from tests.pyproject import PYPROJECT

    data = PYPROJECT["tool"]["setuptools"]["package-data"]["polar_checkouts"]
    assert "locale/**/*" in data
    for language in LANGUAGES:
        assert (PACKAGE / "locale" / language / "LC_MESSAGES" / "django.mo").is_file()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_admin_strings_django_lacks_are_translated(language):
    """Django 6.0's admin actions button says "Run", which Django's own de, es and ja
    catalogues do not translate; this app's catalogue supplies it for every language
    (polar_checkouts/admin/django_strings.py), whatever the Django version."""
    from django.utils import translation

    from polar_checkouts.admin.django_strings import DJANGO_ADMIN_STRINGS

    assert "Run" in DJANGO_ADMIN_STRINGS
    with translation.override(language):
        translated = {text: translation.gettext(text) for text in DJANGO_ADMIN_STRINGS}
    assert {text: out for text, out in translated.items() if out == text} == {}
