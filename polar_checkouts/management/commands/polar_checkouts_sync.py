"""``manage.py polar_checkouts_sync``: copy Polar's objects into the cache.

``--objects`` chooses which (``checkouts``, ``customers``, ``subscriptions``, ``orders``,
or ``all``); the default stays ``checkouts``, what the command copied before it knew the
others, so an existing scheduled run does not start reading (and spending API quota on)
every order and subscription after an upgrade. The others are synced customers first,
then subscriptions, then orders, so each finds the rows it links to.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...conf import polar_settings
from ...exceptions import PolarError
from ...models import CheckoutStatus
from ...services import (
    SyncResult,
    sync_checkouts,
    sync_customers,
    sync_orders,
    sync_subscriptions,
)

#: What ``--objects`` accepts, in the order they are synced.
OBJECTS = ("checkouts", "customers", "subscriptions", "orders")


def parse_objects(value: str) -> list[str]:
    """``checkouts,orders`` (or ``all``) → the objects to sync, in :data:`OBJECTS` order."""
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    if "all" in names:
        return list(OBJECTS)
    unknown = sorted(names - set(OBJECTS))
    if unknown or not names:
        raise CommandError(
            f"--objects takes a comma-separated list of {', '.join(OBJECTS)} (or all), "
            f"not {value!r}."
        )
    return [name for name in OBJECTS if name in names]


def parse_since(value: str) -> dt.datetime:
    """``2026-11-01`` (midnight, current time zone) or an ISO datetime (UTC if naive)."""
    try:
        when = parse_datetime(value)
        day = None if when is not None else parse_date(value)
    except ValueError:
        when = day = None
    if when is None and day is None:
        raise CommandError(
            f"--since must be an ISO date or datetime such as 2026-11-01 or "
            f"2026-11-01T12:00:00Z, not {value!r}."
        )
    if when is None:
        assert day is not None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.timezone.utc)
    return when


class Command(BaseCommand):
    help = (
        "Copy checkout sessions (and, with --objects, customers, subscriptions and orders) "
        "from Polar into the local cache, 100 per page. Safe to re-run: rows already up to "
        "date are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Which objects, the filters Polar's lists accept, plus --since."""
        parser.add_argument(
            "--objects",
            default="checkouts",
            metavar="LIST",
            help=(
                "What to sync: a comma-separated list of checkouts, customers, "
                "subscriptions, orders, or all (default: checkouts)."
            ),
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=CheckoutStatus.values,
            help="Only checkouts with this status (repeat for several; checkouts only).",
        )
        parser.add_argument(
            "--product",
            action="append",
            metavar="PRODUCT_ID",
            help=(
                "Only checkouts, subscriptions and orders of this product id (repeat for several)."
            ),
        )
        parser.add_argument(
            "--organization",
            metavar="ORGANIZATION_ID",
            help="Organization id (default: POLAR_ORGANIZATION_ID).",
        )
        parser.add_argument(
            "--since",
            type=str,
            help="Only objects created at or after this ISO date or datetime.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the sync of each chosen object, showing progress on a terminal and a
        summary per object at the end."""
        objects = parse_objects(options.get("objects") or "checkouts")
        since = parse_since(options["since"]) if options.get("since") else None
        organization = options.get("organization") or polar_settings.ORGANIZATION_ID
        products = options.get("product")
        runs: dict[str, Callable[..., SyncResult]] = {
            "checkouts": lambda **kw: sync_checkouts(
                status=options.get("status"), product_id=products, **kw
            ),
            "customers": sync_customers,
            "subscriptions": lambda **kw: sync_subscriptions(product_id=products, **kw),
            "orders": lambda **kw: sync_orders(product_id=products, **kw),
        }
        for name in objects:
            result = self._sync(
                name,
                runs[name],
                since=since,
                organization_id=organization,
                verbosity=int(options.get("verbosity", 1)),
            )
            if int(options.get("verbosity", 1)) > 0:
                # Checkouts alone print the bare summary, as before --objects existed.
                self.stdout.write(str(result) if objects == ["checkouts"] else f"{name}: {result}")

    def _sync(
        self,
        name: str,
        run: Callable[..., SyncResult],
        *,
        since: dt.datetime | None,
        organization_id: Any,
        verbosity: int,
    ) -> SyncResult:
        show_progress = verbosity > 0 and self.stdout.isatty()
        started = time.monotonic()
        latest = SyncResult()

        def progress(result: SyncResult) -> None:
            latest.created, latest.updated = result.created, result.updated
            latest.unchanged, latest.pages = result.unchanged, result.pages
            if show_progress:
                elapsed = max(time.monotonic() - started, 1e-6)
                self.stderr.write(
                    f"\r{name}: pages {result.pages}, rows {result.rows}, "
                    f"{result.rows / elapsed:.0f} rows/s",
                    ending="",
                )
                self.stderr.flush()

        try:
            result = run(progress=progress, since=since, organization_id=organization_id)
        except PolarError as exc:
            # Also a ReceiverError: a signal receiver of the project raised (its traceback
            # is logged); that page was rolled back, the pages before it are kept.
            if show_progress:
                self.stderr.write("")
            what = "checkout session(s)" if name == "checkouts" else name
            if latest.pages:
                kept = (
                    f"The {latest.rows} {what} from the {latest.pages} page(s) "
                    f"read before the error were kept ({latest})."
                )
            else:
                kept = "Nothing was stored."
            raise CommandError(f"Polar sync stopped: {exc}. {kept}") from exc
        if show_progress:
            self.stderr.write("")
        return result
