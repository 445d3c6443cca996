"""Copying Polar's lists into the cache, page by page: what every object's sync shares.

:func:`sync_pages` reads pages of up to 100 objects from a client list call and stores
each page in bulk through the object's one store path (``store_orders`` …), each page in
its own transaction: a Polar error part way keeps the pages already stored and is then
raised. It is idempotent (rows already up to date are counted ``unchanged``) and calls
``progress`` after every page, as ``sync_checkouts`` does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..client import MAX_PAGE_SIZE, Page
from ..exceptions import InvalidPayloadError
from ..models import StoreCounts
from ..payload import parse_polar_datetime, required_id
from .checkouts import SyncResult

logger = logging.getLogger("polar_checkouts")

ListCall = Callable[..., Page[Any]]
StorePage = Callable[[Iterable[Mapping[str, Any]]], StoreCounts[Any]]


def sync_pages(
    list_call: ListCall,
    store: StorePage,
    *,
    what: str,
    progress: Callable[[SyncResult], None] | None = None,
    since: dt.datetime | None = None,
    **filters: Any,
) -> SyncResult:
    """Store every object ``list_call`` lists (with ``filters``), a page at a time.

    ``since`` keeps objects created at or after it; paging stops once Polar's newest-first
    list goes past it (only when no other ``sorting`` was asked for).
    """
    newest_first = filters.get("sorting") in (None, "-created_at")
    result = SyncResult()
    page: Page[Any] | None = list_call(page=1, limit=MAX_PAGE_SIZE, **filters)
    while page is not None:
        keep = []
        reached_since = False
        for item in page.items:
            try:
                required_id(item, what)
            except InvalidPayloadError:
                # One malformed row must not stop the sync of every other object.
                logger.warning("Skipping a Polar %s without a valid id: %r", what, _id(item))
                continue
            created = parse_polar_datetime(item.get("created_at"))
            if since is not None and created is not None and created < since:
                reached_since = True
                continue
            keep.append(item)
        counts = store(keep)
        result.created += counts.created
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.pages += 1
        if progress is not None:
            progress(result)
        if reached_since and newest_first:
            break
        page = page.next()
    logger.info("Polar %s sync: %s in %d page(s)", what, result, result.pages)
    return result


def _id(item: Any) -> Any:
    return item.get("id") if isinstance(item, Mapping) else item
