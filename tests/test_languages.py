"""Every page, in every shipped language, says nothing in English that it should not.

Each storefront page (the button, the checkout page in each of its states, the fake's
test-payment selector, the receipt in each state, the error pages and messages) and
each admin page is rendered in English and in French, German, Spanish, Brazilian
Portuguese and Japanese (``LocaleMiddleware``, ``Accept-Language``). A piece of text a
person reads (text nodes, labels in attributes, the strings the page's script shows)
that is the same as in the English page fails the test, unless it is data (product
names, ids, amounts, Polar's event names), a brand name, or a word the language's
catalogue translates as itself on purpose (French "Total"). This catches strings
missing from the catalogue as well as strings left untranslated in it.
"""

from __future__ import annotations

import functools
import gettext
import json
import re
import uuid
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import django
import pytest
from babel import Locale
from babel.messages.pofile import read_po
from django.core.cache import cache
from django.template import engines
from django.test import Client, RequestFactory
from django.utils import translation

import polar_checkouts
from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, WebhookEvent
from polar_checkouts.testing import (
    DISCOUNT_CODE,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_FAILED,
    TOKEN_SUCCEEDED,
)
from polar_checkouts.testing import catalogue as fake_catalogue

pytestmark = pytest.mark.django_db

#: Django language code -> catalogue directory, English first (the reference).
LANGUAGES = {"en": "en", "fr": "fr", "de": "de", "es": "es", "pt-br": "pt_BR", "ja": "ja"}
#: Names that stay as they are in every language.
BRANDS = {"Polar", "Stripe", "Django", "PDF", "3-D Secure", "JavaScript", "ID"}
#: Text that is data, whatever the language (ids, codes, Polar's event names, JSON).
DATA = re.compile(
    r"^(?:[0-9a-f-]{8,}…?|[A-Z]{3}|[\w.-]*[_.][\w.-]*|polar_\S+|[\w.+-]+@[\w.-]+|https?://\S+|\{.*\}|\[.*\])$"
)
#: Text of others that is not translated: admin menu entries of apps the test project
#: installs (no catalogue), and the search icon's ``alt`` in Django's admin template.
OTHER_APPS = {"Task Results", "Tasks Database Backend", "Django-RQ", "Search"}
#: Currency codes inside amounts ("19.00 USD") are data too.
CURRENCY_CODE = re.compile(r"\b[A-Z]{3}\b")
LETTERS = re.compile(r"[^\W\d_]{2,}")
BUYER = {
    "customer_name": "Ada",
    "customer_email": "ada@example.com",
    "customer_billing_address": {"country": "FR", "postal_code": "75002"},
}


class PageText(HTMLParser):
    """What a person reads on a page: text, labelling attributes, the script's strings."""

    LABELS = ("placeholder", "title", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in self.LABELS:
            if attributes.get(name):
                self.texts.append(str(attributes[name]))
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.texts.append(str(attributes.get("value") or ""))
        if tag in ("script", "style"):
            self._skip += 1
            self._json = attributes.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
            self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.texts.extend(_script_strings(json.loads(data)))
        elif not self._skip:
            self.texts.append(data)


def _script_strings(config: Any) -> Iterable[str]:
    """The messages a page's script shows: every ``strings`` object and ``takingLonger``."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "strings" and isinstance(value, dict):
                yield from (str(text) for text in value.values())
            elif key == "takingLonger":
                yield str(value)
            else:
                yield from _script_strings(value)
    elif isinstance(config, list):
        for item in config:
            yield from _script_strings(item)


def fragments(html: str) -> set[str]:
    parser = PageText()
    parser.feed(html)
    found = set()
    for text in parser.texts:
        cleaned = " ".join(text.split())
        if cleaned:
            found.add(cleaned)
    return found


def _pattern(message: str) -> re.Pattern[str]:
    """A message as a regex matching its rendered forms (placeholders match anything)."""
    parts = re.split(r"%\(\w+\)[sd]", message)
    return re.compile(".+".join(re.escape(part) for part in parts))


@functools.cache
def same_on_purpose_patterns(directory: str) -> tuple[re.Pattern[str], ...]:
    """This app's :func:`same_on_purpose` messages with placeholders ("Checkout: %(name)s"
    in German); Django's are left out, where one like "%(name)s" would match anything."""
    return tuple(_pattern(m) for m in _app_same(directory) if "%(" in m)


def _app_same(directory: str) -> set[str]:
    path = Path(polar_checkouts.__file__).parent / "locale" / directory / "LC_MESSAGES"
    with open(path / "django.po", "rb") as fh:
        return {
            m.id.lower()
            for m in read_po(fh)
            if isinstance(m.id, str) and m.id.lower() == str(m.string).lower()
        }


@functools.cache
def same_on_purpose(directory: str) -> frozenset[str]:
    """Messages this app's or Django's catalogues translate as themselves (French "Total",
    German "Filter" in the admin), in lower case: the admin capitalises verbose names."""
    same = _app_same(directory)
    for path in Path(django.__file__).parent.glob(f"**/locale/{directory}/LC_MESSAGES/django.mo"):
        with open(path, "rb") as fh:
            catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
        same.update(
            key.lower()
            for key, value in catalog.items()
            if isinstance(key, str) and key and key.lower() == str(value).lower()
        )
    return frozenset(same)


def data_texts() -> set[str]:
    """What the fake's catalogue and these tests put on pages as data."""
    texts = {fake_catalogue.ORGANIZATION_NAME, DISCOUNT_CODE, "Ada", "Welcome, 10 % off"}
    texts.add("admin")  # the signed-in staff user's name
    for product in fake_catalogue.SEED_PRODUCTS:
        texts.update({product["name"], product["description"]})
    return texts


def english_leftovers(pages: dict[str, str]) -> dict[str, list[str]]:
    """Per language, the fragments that are the English page's and should not be."""
    english = fragments(pages["en"])
    allowed = data_texts() | BRANDS | OTHER_APPS
    found = {}

    def bare(text: str) -> str:
        return text.rstrip(" :").lower()  # a label's suffix: "Status:", "Total :"

    for language, html in pages.items():
        if language == "en":
            continue
        own_words = same_on_purpose(LANGUAGES[language])
        # Country names are CLDR's (Babel), as the language writes them ("France").
        countries = set(Locale.parse(LANGUAGES[language]).territories.values())
        leftovers = sorted(
            text
            for text in fragments(html) & english
            if LETTERS.search(CURRENCY_CODE.sub("", text))
            and text not in allowed
            and text not in countries
            and bare(text) not in own_words
            and not any(
                p.fullmatch(bare(text)) for p in same_on_purpose_patterns(LANGUAGES[language])
            )
            and not DATA.match(text)
            and not all(DATA.match(word) for word in text.strip("› ").split())
        )
        if leftovers:
            found[language] = leftovers
    return found


def in_every_language(render: Callable[[str], str]) -> dict[str, str]:
    pages = {}
    for language in LANGUAGES:
        html = render(language)
        assert f'lang="{language}"' in html or "<html" not in html, language
        pages[language] = html
    return pages


@pytest.fixture
def i18n(settings, polar_fake):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    settings.LANGUAGES = [(code, code) for code in LANGUAGES]
    settings.POLAR_SERVER = "fake"
    settings.POLAR_CLIENT_CALLS = "server"
    settings.POLAR_CHECKOUT_FRESH_SECONDS = 0  # every render asks the fake: same data
    cache.clear()
    yield polar_fake
    cache.clear()


def get(path: str, language: str, client: Client | None = None) -> str:
    response = (client or Client()).get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code != 500, (path, language)  # 503 pages are pages too
    return response.content.decode()


def new_checkout(product_id: str = PRODUCT_ONE_TIME_ID, **fields: Any) -> CheckoutSession:
    return services.create_checkout(product_id=product_id, **fields)


def assert_translated(pages: dict[str, str], where: str = "") -> None:
    leftovers = english_leftovers(pages)
    assert not leftovers, where + " " + json.dumps(leftovers, indent=1, ensure_ascii=False)


# -- storefront ------------------------------------------------------------------------------


def test_the_button(i18n):
    def render(language: str) -> str:
        request = RequestFactory().get("/")
        page = engines["django"].from_string(
            "{% load i18n polar_checkouts %}{% get_current_language as LANGUAGE_CODE %}"
            '<html lang="{{ LANGUAGE_CODE }}">'
            "{% polar_checkout_button product_id %}{% polar_checkout_button free_id %}</html>"
        )
        with translation.override(language):
            return page.render(
                {"product_id": PRODUCT_ONE_TIME_ID, "free_id": PRODUCT_FREE_ID}, request
            )

    assert_translated(in_every_language(render))


@pytest.mark.parametrize(
    "product_id",
    [PRODUCT_ONE_TIME_ID, PRODUCT_FREE_ID, PRODUCT_PWYW_ID, PRODUCT_SUBSCRIPTION_ID],
)
def test_the_checkout_page_and_the_fake_s_payment_selector(i18n, product_id):
    secret = new_checkout(product_id).client_secret
    pages = in_every_language(lambda language: get(f"/checkout/{secret}/", language))
    assert "data-polar-fake-tokens" in pages["fr"] or product_id == PRODUCT_FREE_ID
    assert_translated(pages)


def test_the_checkout_page_with_a_discount_and_an_address(i18n):
    secret = new_checkout().client_secret or ""
    services.client_update(secret, {**BUYER, "discount_code": DISCOUNT_CODE})
    assert_translated(in_every_language(lambda language: get(f"/checkout/{secret}/", language)))


@pytest.mark.parametrize("state", ["unknown", "expired", "completed", "failed", "unavailable"])
def test_the_closed_checkout_pages(i18n, state):
    fake = i18n
    secret = "polar_c_unknown"
    if state != "unknown":
        secret = new_checkout().client_secret or ""
    if state == "expired":
        fake.advance_time(2 * 24 * 3600)
    elif state == "completed":
        services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    elif state == "failed":
        services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_FAILED})
        fake.advance_time(1)
    elif state == "unavailable":
        fake.inject(503, times=100, route="client_get")
    pages = in_every_language(lambda language: get(f"/checkout/{secret}/", language))
    assert_translated(pages)


@pytest.mark.parametrize(
    "state", ["succeeded", "processing", "failed", "open", "unknown", "unavailable"]
)
def test_the_receipt(i18n, state, settings):
    fake = i18n
    settings.POLAR_STATUS_REFRESH_INTERVAL = 0
    checkout = new_checkout(customer_email="ada@example.com")
    checkout_id: Any = checkout.pk
    secret = checkout.client_secret or ""
    if state == "succeeded":
        services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    elif state == "processing":
        fake.success_delay = 3600
        services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    elif state == "failed":
        services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_FAILED})
        fake.advance_time(1)
    elif state == "unknown":
        checkout_id = uuid.uuid4()
    elif state == "unavailable":
        checkout_id = uuid.uuid4()
        fake.inject(503, times=100, route="get")

    def render(language: str) -> str:
        cache.clear()  # each language's render reads Polar, as a first visit does
        return get(f"/checkout/success/?checkout_id={checkout_id}", language)

    pages = in_every_language(render)
    assert f'data-polar-state="{state}"' in pages["de"]
    assert_translated(pages)


def test_the_messages_of_a_refused_purchase(i18n):
    """The create's errors are shown on the page the button was on (the shop's)."""

    def render(language: str) -> str:
        client = Client()
        response = client.post(
            "/checkout/create/",
            {"product_id": str(uuid.uuid4())},
            HTTP_ACCEPT_LANGUAGE=language,
            HTTP_REFERER="http://testserver/shop/",
        )
        assert response.status_code == 303
        messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
        return f'<html lang="{language}">' + "".join(f"<p>{m}</p>" for m in messages)

    pages = in_every_language(render)
    assert "<p>" in pages["ja"]
    assert_translated(pages)


@pytest.mark.parametrize("reason", ["client", "polar"])
def test_the_too_many_requests_and_busy_pages(i18n, reason):
    """What a visitor over its limit (429) or the whole shop paused by Polar (503) sees."""
    from polar_checkouts.storefront.limits import busy_page

    def render(language: str) -> str:
        request = RequestFactory().get("/checkout/create/", HTTP_ACCEPT_LANGUAGE=language)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            return busy_page(request, reason, 30, status=503).content.decode()

    pages = in_every_language(render)
    assert "30" in pages["ja"]
    assert_translated(pages)


# -- admin -------------------------------------------------------------------------------------


@pytest.fixture
def staff(i18n, admin_client):
    fake = i18n
    paid = new_checkout(customer_email="ada@example.com")
    services.client_confirm(
        paid.client_secret or "", {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED}
    )
    fake.checkout(str(paid.pk))
    services.refresh_checkout(paid.pk)
    new_checkout()
    WebhookEvent.objects.create(
        webhook_id="msg_languages",
        type="checkout.updated",
        payload={"type": "checkout.updated", "data": {"id": str(paid.pk)}},
    )
    return admin_client


def admin_pages() -> list[str]:
    checkout = CheckoutSession.objects.filter(status="succeeded").get()
    event = WebhookEvent.objects.get()
    base = "/admin/polar_checkouts"
    return [
        f"{base}/checkoutsession/",
        f"{base}/checkoutsession/?status__exact=succeeded",
        f"{base}/checkoutsession/{checkout.pk}/change/",
        f"{base}/checkoutsession/overview/",
        f"{base}/webhookevent/",
        f"{base}/webhookevent/{event.pk}/change/",
    ]


def test_the_admin_pages(staff):
    for path in admin_pages():

        def render(language: str, path: str = path) -> str:
            return get(path, language, staff)

        assert_translated(in_every_language(render), path)


def test_short_words_take_this_app_s_translation_not_django_s(i18n, settings):
    """``django.contrib.auth`` (listed first, so its catalogue wins for a shared msgid)
    translates "Email" as "Courriel"; the checkout's field has its own context."""
    assert settings.INSTALLED_APPS.index("django.contrib.auth") < settings.INSTALLED_APPS.index(
        "polar_checkouts"
    )
    secret = new_checkout().client_secret
    secret_discount = new_checkout().client_secret or ""
    services.client_update(secret_discount, {"discount_code": DISCOUNT_CODE})
    french = get(f"/checkout/{secret}/", "fr")
    assert ">Adresse e-mail" in french
    assert "Courriel" not in french
    assert ">E-Mail-Adresse" in get(f"/checkout/{secret}/", "de")
    assert ">Retirer</button>" in get(f"/checkout/{secret_discount}/", "fr")
