"""``manage.py polar_checkouts_reconcile``: catch up with Polar after missed webhooks.

For the day Polar disabled the endpoint (10 consecutive failed events) or the shop was
down: refresh the cache from Polar, then have Polar redeliver the events that failed.
Safe to re-run; ``--dry-run`` only reports. See :mod:`polar_checkouts.services.reconcile`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...exceptions import PolarError
from ...services import reconcile
from .polar_checkouts_sync import parse_since


class Command(BaseCommand):
    help = (
        "Catch up with Polar after missed webhooks: sync the cache from Polar since the "
        "newest change it has seen (minus a margin), then ask Polar to redeliver every "
        "event of this site's webhook endpoint that failed, and say whether the endpoint "
        "is disabled. Safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--since``, ``--margin``, ``--endpoint``, ``--enable-endpoint``, ``--dry-run``."""
        parser.add_argument(
            "--since",
            help="Sync and look for failed deliveries from this ISO date or datetime "
            "(default: the newest change in the cache minus --margin).",
        )
        parser.add_argument(
            "--margin",
            type=int,
            default=int(reconcile.DEFAULT_MARGIN.total_seconds() // 60),
            metavar="MINUTES",
            help="Look-back before the newest change seen, in minutes (default: %(default)s).",
        )
        parser.add_argument(
            "--endpoint",
            metavar="ENDPOINT_ID",
            help="Polar's id of this site's webhook endpoint (default: the one signing "
            "with POLAR_WEBHOOK_SECRET).",
        )
        parser.add_argument(
            "--enable-endpoint",
            action="store_true",
            help="Re-enable the endpoint if Polar disabled it (needs webhooks:write).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be done; change nothing."
        )
        parser.add_argument(
            "--skip-sync", action="store_true", help="Do not refresh the cache from Polar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Refresh, redeliver, report."""
        if options["margin"] < 0:
            raise CommandError("--margin must be 0 or more minutes.")
        dry_run = options["dry_run"]
        if options.get("since"):
            since: dt.datetime | None = parse_since(options["since"])
        else:
            since = reconcile.default_since(dt.timedelta(minutes=options["margin"]))
        since_text = since.isoformat() if since else "the beginning"
        prefix = "[dry run] " if dry_run else ""

        # 1. What the cache may have missed.
        if options["skip_sync"]:
            self.stdout.write("Cache refresh skipped (--skip-sync).")
        elif dry_run:
            names = ", ".join(reconcile.REFRESHERS)
            self.stdout.write(f"{prefix}Would sync {names} from Polar since {since_text}.")
        else:
            for name, result in reconcile.refresh_cache(since).items():
                if isinstance(result, Exception):
                    self.stderr.write(f"Syncing {name} since {since_text} failed: {result}")
                else:
                    self.stdout.write(f"Synced {name} since {since_text}: {result}.")

        # 2. This site's endpoint and its failed deliveries.
        try:
            endpoint = reconcile.find_endpoint(options.get("endpoint"))
        except PolarError as exc:
            raise CommandError(f"Could not read the webhook endpoints from Polar: {exc}") from exc
        if endpoint is None:
            raise CommandError(
                "No webhook endpoint on Polar signs with POLAR_WEBHOOK_SECRET; name it with "
                "--endpoint ENDPOINT_ID (Polar's dashboard: Settings → Webhooks)."
            )
        self.stdout.write(f"Webhook endpoint {endpoint['id']} ({endpoint.get('url')}).")
        try:
            # Failed deliveries: all Polar keeps, unless --since narrows them.
            delivery_since = since if options.get("since") else None
            found = reconcile.failed_events(endpoint, since=delivery_since)
        except PolarError as exc:
            raise CommandError(f"Could not list the failed deliveries: {exc}") from exc
        self.stdout.write(
            f"{found.deliveries} failed deliveries: {len(found.to_redeliver)} events never "
            f"succeeded, {len(found.recovered)} recovered since, "
            f"{len(found.archived)} archived by Polar (cannot be redelivered)."
        )

        # 3. A disabled endpoint receives nothing, redeliveries included.
        enabled = bool(endpoint.get("enabled", True))
        if not enabled and options["enable_endpoint"]:
            if dry_run:
                self.stdout.write(f"{prefix}Would re-enable the endpoint (it is disabled).")
            else:
                endpoint = reconcile.enable_endpoint(endpoint)
                enabled = bool(endpoint.get("enabled"))
                if enabled:
                    self.stdout.write("Re-enabled the endpoint.")
        if not enabled:
            self.stdout.write(
                self.style.WARNING(
                    "The endpoint is DISABLED: Polar disabled it after 10 consecutive failed "
                    "events and skips every event for it, redeliveries included. Re-enable "
                    "it with --enable-endpoint, or in Polar's dashboard (Settings → "
                    "Webhooks), then run this command again."
                )
            )
            return

        if dry_run:
            self.stdout.write(f"{prefix}Would ask Polar to redeliver {len(found.to_redeliver)}.")
            for event_id in found.to_redeliver:
                self.stdout.write(f"  {event_id}")
            return
        asked, errors = reconcile.redeliver(found.to_redeliver)
        self.stdout.write(f"Asked Polar to redeliver {len(asked)} events.")
        for event_id, error in errors.items():
            self.stderr.write(f"Redelivering {event_id} failed: {error}")
        if errors:
            raise CommandError(f"{len(errors)} redeliveries failed; run the command again.")
