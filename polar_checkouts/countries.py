"""Countries, in one place: Polar's codes, named by Babel (CLDR) in the active language.

Which codes exist is Polar's decision (:mod:`.country_codes`, generated from its spec);
how a country is called is CLDR's ("Allemagne" in French, "ドイツ" in Japanese), never a
table written here. The checkout page's country ``<select>`` offers
:data:`~.country_codes.COUNTRY_ALPHA2_INPUT`, the codes Polar accepts in an address.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale

from .country_codes import COUNTRY_ALPHA2, COUNTRY_ALPHA2_INPUT
from .money import current_locale

__all__ = [
    "COUNTRY_ALPHA2",
    "COUNTRY_ALPHA2_INPUT",
    "country_choices",
    "country_name",
    "is_accepted_country",
    "normalise_country",
]

_ACCEPTED = frozenset(COUNTRY_ALPHA2_INPUT)


def normalise_country(value: object) -> str:
    """``" fr "`` → ``"FR"``; anything that is not text → ``""``."""
    return value.strip().upper() if isinstance(value, str) else ""


def is_accepted_country(value: object) -> bool:
    """True when Polar accepts ``value`` as a billing address's country (``"FR"``, not ``"ZZ"``)."""
    return normalise_country(value) in _ACCEPTED


def country_name(code: str, locale: str | None = None) -> str:
    """``"DE"`` → ``"Germany"`` (``"Allemagne"`` in French); the code when CLDR has none."""
    code = normalise_country(code)
    return _territories(locale or current_locale()).get(code, code)


def country_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """``(code, name)`` for every country Polar accepts, sorted by name in ``locale``."""
    return list(_choices(locale or current_locale()))


@lru_cache(maxsize=32)
def _territories(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale).territories)


def _sort_key(name: str) -> str:
    # Accents do not count in an alphabetical list ("Égypte" sits with the E's); a full
    # collation (ICU) would be a heavy dependency for one list.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=32)
def _choices(locale: str) -> tuple[tuple[str, str], ...]:
    names = _territories(locale)
    pairs = [(code, names.get(code, code)) for code in COUNTRY_ALPHA2_INPUT]
    return tuple(sorted(pairs, key=lambda pair: (_sort_key(pair[1]), pair[0])))
