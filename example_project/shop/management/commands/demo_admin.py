"""``manage.py demo_admin``: create (or reset) the demo's admin login and print it."""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or reset the demo superuser and print its username and password."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USER", "admin"))
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_ADMIN_PASSWORD"),
            help="Defaults to a new random password on every run.",
        )

    def handle(self, *args: Any, username: str, password: str | None, **options: Any) -> None:
        password = password or secrets.token_urlsafe(12)
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the demo admin: username {username!r}, password {password!r}"
            )
        )
