"""The list endpoints' "one of these ids" filters, read from a table per endpoint.

A table maps a query parameter to the field it matches: a field of the listed item
(``"product_id"``) or, dotted, of the product or customer the item names
(``"product.organization_id"`` reads ``fake.products[item's product_id]``). A parameter
given no value filters nothing; given values, it keeps the items whose field is one of
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..validation import Errors, query_uuids

if TYPE_CHECKING:
    from .core import FakePolar

T = TypeVar("T")

#: Query parameters taken as given: Polar's external ids are any strings, not UUIDs.
FREE_TEXT = frozenset({"external_customer_id"})


def query_ids(
    errors: Errors, params: Mapping[str, list[str]], names: Iterable[str]
) -> dict[str, list[str]]:
    """Each named query parameter's values, read in the order named (their errors too)."""
    return {
        name: list(params.get(name, [])) if name in FREE_TEXT else query_uuids(errors, params, name)
        for name in names
    }


def _subscript(item: Any, field: str) -> Any:
    return item[field]


def by_ids(
    fake: FakePolar,
    items: list[T],
    table: Mapping[str, str],
    wanted: Mapping[str, list[str]],
    value: Callable[[T, str], Any] = _subscript,
) -> list[T]:
    """``items`` whose ``table`` field is one of the ``wanted`` values, parameter by
    parameter in the table's order. ``value(item, field)`` reads an item's field
    (``getattr`` for the checkouts' dataclass)."""
    for name, path in table.items():
        ids = wanted.get(name)
        if ids:
            items = [item for item in items if _field(fake, item, path, value) in ids]
    return items


def _field(fake: FakePolar, item: T, path: str, value: Callable[[T, str], Any]) -> Any:
    record, _, field = path.rpartition(".")
    if not record:
        return value(item, field)
    related = getattr(fake, f"{record}s")[value(item, f"{record}_id")]
    return related[field]
