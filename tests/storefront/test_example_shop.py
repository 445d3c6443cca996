"""The example shop as ``scripts/demo`` runs it: its own settings, SQLite, the fake Polar.

It runs in a subprocess (its settings are not the test suite's), with a throwaway
database and no ``.env`` file: the defaults alone must give a working shop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"

SCRIPT = r"""
import json, re
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

setup_test_environment()  # lets the test client's "testserver" host in
call_command("migrate", verbosity=0)
shop = Client()
home = shop.get("/")
html = home.content.decode()
created = shop.post("/checkout/create/", {"product_id": PRODUCT_ONE_TIME_ID})
page = shop.get(created["Location"])
config = json.loads(re.search(
    r'<script id="polar-checkout-config" type="application/json">(.*?)</script>',
    page.content.decode(), re.S).group(1))
from django.conf import settings
from polar_checkouts.testing import get_default_fake
fake = get_default_fake()
print(json.dumps({
    "webhook_url": settings.POLAR_FAKE_WEBHOOK_URL,
    "delivers_to": fake.webhook.url if fake.webhook else None,
    "delivery": fake.webhook_delivery,
    "home": home.status_code,
    "csp": home.get("Content-Security-Policy", ""),
    "products": html.count("data-product-id="),
    "buttons": html.count('<button type="submit" class="polar-checkout-button'),
    "created": created.status_code,
    "page": page.status_code,
    "page_extends_shop": "Example shop" in page.content.decode(),
    "client": config["client"],
    "provider": config["payment"]["provider"],
}))
"""


@pytest.mark.slow
def test_example_shop_sells_out_of_the_box(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POLAR_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "shop_site.settings"
    env["PYTHONPATH"] = str(EXAMPLE)
    env["SHOP_ENV_FILE"] = str(tmp_path / "no.env")
    # Where scripts/demo would serve; here a port nothing answers on (the fake's webhook
    # deliveries to the shop's own endpoint go there and fail quietly in the background).
    env["DEMO_ADDR"] = "127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # The fake delivers its webhooks to the shop's own endpoint, in the background.
    assert outcome["webhook_url"] == "http://127.0.0.1:9/checkout/webhook/"
    assert outcome["delivers_to"] == outcome["webhook_url"]
    assert outcome["delivery"] == "background"
    assert outcome["home"] == 200
    assert "script-src 'self' https://js.stripe.com" in outcome["csp"]
    assert outcome["products"] == 4
    assert outcome["buttons"] == 4  # no hosted-page button: the fake has no hosted page
    assert outcome["created"] == 303
    assert outcome["page"] == 200
    assert outcome["page_extends_shop"]
    assert outcome["client"]["mode"] == "browser"
    assert outcome["client"]["base"] == "/polar-fake/v1/checkouts/client/"
    assert outcome["provider"] == "fake"
