"""``manage.py polar_checkouts_sync``: copy checkout sessions from Polar into the cache."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...conf import polar_settings
from ...exceptions import PolarError
from ...models import CheckoutStatus
from ...services import SyncResult, sync_checkouts


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
        "Copy checkout sessions from Polar into the local cache, 100 per page. Safe to "
        "re-run: rows already up to date are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """The filters Polar's list accepts, plus --since."""
        parser.add_argument(
            "--status",
            action="append",
            choices=CheckoutStatus.values,
            help="Only checkouts with this status (repeat for several).",
        )
        parser.add_argument(
            "--product",
            action="append",
            metavar="PRODUCT_ID",
            help="Only checkouts of this product id (repeat for several).",
        )
        parser.add_argument(
            "--organization",
            metavar="ORGANIZATION_ID",
            help="Organization id (default: POLAR_ORGANIZATION_ID).",
        )
        parser.add_argument(
            "--since",
            type=str,
            help="Only checkouts created at or after this ISO date or datetime.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the sync, showing progress on a terminal and a summary at the end."""
        since = parse_since(options["since"]) if options.get("since") else None
        verbosity = int(options.get("verbosity", 1))
        show_progress = verbosity > 0 and self.stdout.isatty()
        started = time.monotonic()
        latest = SyncResult()

        def progress(result: SyncResult) -> None:
            latest.created, latest.updated = result.created, result.updated
            latest.unchanged, latest.pages = result.unchanged, result.pages
            if show_progress:
                elapsed = max(time.monotonic() - started, 1e-6)
                self.stderr.write(
                    f"\rpages {result.pages}, rows {result.rows}, "
                    f"{result.rows / elapsed:.0f} rows/s",
                    ending="",
                )
                self.stderr.flush()

        try:
            result = sync_checkouts(
                progress=progress,
                since=since,
                status=options.get("status"),
                product_id=options.get("product"),
                organization_id=options.get("organization") or polar_settings.ORGANIZATION_ID,
            )
        except PolarError as exc:
            # Also a ReceiverError: a signal receiver of the project raised (its traceback
            # is logged); that page was rolled back, the pages before it are kept.
            if show_progress:
                self.stderr.write("")
            if latest.pages:
                kept = (
                    f"The {latest.rows} checkout session(s) from the {latest.pages} page(s) "
                    f"read before the error were kept ({latest})."
                )
            else:
                kept = "Nothing was stored."
            raise CommandError(f"Polar sync stopped: {exc}. {kept}") from exc
        if show_progress:
            self.stderr.write("")
        if verbosity > 0:
            self.stdout.write(str(result))
