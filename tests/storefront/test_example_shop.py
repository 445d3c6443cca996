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


MEMBERSHIP_SCRIPT = r"""
import json, re
from urllib.parse import urlencode, urlsplit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from polar_checkouts.client import get_client
from polar_checkouts.testing import (
    PRODUCT_FREE_ID, PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED,
)

setup_test_environment()
call_command("migrate", verbosity=0)
get_user_model().objects.create_user("ada", "ada@example.com", "pw")
shop = Client()
out = {"membership_setting": settings.SHOP_MEMBERSHIP_PRODUCT_ID == PRODUCT_SUBSCRIPTION_ID}
out["anonymous_members"] = shop.get("/members/")["Location"]
out["login"] = shop.post("/accounts/login/", {"username": "ada", "password": "pw"}).status_code
out["locked_before"] = shop.get("/members/")["Location"]

def buy(product_id):
    created = shop.post("/checkout/create/", {"product_id": product_id})
    html = shop.get(created["Location"]).content.decode()
    secret = re.search(r'"client_secret": "([^"]+)"', html)
    get_client().client_confirm(secret.group(1), {
        "customer_email": "ada@example.com", "customer_name": "Ada",
        "customer_billing_address": {"country": "SE"}, "confirmation_token_id": TOKEN_SUCCEEDED,
    })

buy(PRODUCT_SUBSCRIPTION_ID)
buy(PRODUCT_ONE_TIME_ID)
out["refresh"] = shop.post("/purchases/refresh/")["Location"]
page = shop.get("/purchases/").content.decode()
out["download_links"] = page.count('class="polar-button shop-download"')
out["manage_link"] = '/checkout/portal/?next=%2Fpurchases%2F' in page
download = shop.get(f"/downloads/{PRODUCT_ONE_TIME_ID}/")
out["download"] = [download.status_code, download["Content-Disposition"]]
out["not_bought"] = shop.get(f"/downloads/{PRODUCT_FREE_ID}/")["Location"]
out["bad_id"] = shop.get("/downloads/not-a-product/").status_code
out["members_open"] = shop.get("/members/").status_code

portal = shop.get("/checkout/portal/?next=/members/")
location = urlsplit(portal["Location"])
form = shop.get(location.path + "?" + location.query).content.decode()
token = re.search(r'name="customer_session_token" value="([^"]+)"', form).group(1)
sub_id = re.search(r'name="subscription_id" value="([^"]+)"', form).group(1)
cancel = urlencode({"customer_session_token": token, "subscription_id": sub_id,
                    "action": "cancel"})
out["cancel"] = shop.post(location.path, cancel,
                          content_type="application/x-www-form-urlencoded").status_code
shop.post("/purchases/refresh/")
out["members_after_cancel"] = shop.get("/members/").status_code
out["cancel_note"] = "Your membership is cancelled" in shop.get("/members/").content.decode()
shop.post("/demo/clock/", {"days": "31"})
shop.post("/purchases/refresh/")
out["members_after_end"] = shop.get("/members/")["Location"]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_example_shop_membership_downloads_and_portal(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POLAR_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "shop_site.settings"
    env["PYTHONPATH"] = str(EXAMPLE)
    env["SHOP_ENV_FILE"] = str(tmp_path / "no.env")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + MEMBERSHIP_SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["membership_setting"]
    assert out["anonymous_members"].startswith("/accounts/login/?next=/members/")
    assert out["login"] == 302
    assert out["locked_before"] == "/membership/"
    assert out["refresh"] == "/purchases/"
    assert out["download_links"] == 1  # the one-time product; the membership has none
    assert out["manage_link"]
    assert out["download"][0] == 200
    assert "attachment" in out["download"][1]
    assert out["not_bought"] == "/purchases/"
    assert out["bad_id"] == 404
    assert out["members_open"] == 200
    assert out["cancel"] == 303  # the fake portal's post/redirect/get
    assert out["members_after_cancel"] == 200  # cancelled at period end: access until then
    assert out["cancel_note"]
    assert out["members_after_end"] == "/membership/"
