"""``manage.py polar_checkouts_process_webhooks``: process webhook events still waiting."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...webhooks import process_waiting_events


class Command(BaseCommand):
    help = (
        "Process recorded Polar webhook events that are pending, and failed ones whose "
        "retry is due (--all-failed: every failed one, now). Safe to run from cron every "
        "minute and next to task workers: each event is processed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--all-failed`` and ``--limit``."""
        parser.add_argument(
            "--all-failed",
            action="store_true",
            help="Retry every failed event now, whatever its backoff (after deploying a fix).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            metavar="N",
            help="Process at most N events, oldest first.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Process, then print one summary line."""
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be a positive number of events.")
        run = process_waiting_events(all_failed=options["all_failed"], limit=options["limit"])
        self.stdout.write(f"processed {run.processed}, failed {run.failed}, skipped {run.skipped}")
