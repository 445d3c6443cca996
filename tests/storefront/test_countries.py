"""The checkout's countries: Polar's own codes (from its spec), named by Babel per language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.utils import translation

from polar_checkouts import countries
from polar_checkouts.country_codes import COUNTRY_ALPHA2, COUNTRY_ALPHA2_INPUT
from polar_checkouts.storefront.context import address_fields_context, country_context
from tests.data import generate_country_codes
from tests.storefront.stubs import SECRET

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = json.loads((DATA / "polar-openapi-2026-10.json").read_text())


def test_the_codes_are_exactly_polars_enums():
    schemas = SPEC["components"]["schemas"]
    address = schemas["Address"]["properties"]["country"]
    address_input = schemas["AddressInput"]["properties"]["country"]
    assert address["title"] == "CountryAlpha2"
    assert address_input["title"] == "CountryAlpha2Input"
    assert list(COUNTRY_ALPHA2) == address["enum"]
    assert list(COUNTRY_ALPHA2_INPUT) == address_input["enum"]
    # Polar accepts fewer countries in an address than it may report.
    assert set(COUNTRY_ALPHA2_INPUT) < set(COUNTRY_ALPHA2)


def test_the_shipped_module_is_what_the_generator_writes():
    """Hand edits (or a spec update without regenerating) are caught here."""
    shipped = Path(countries.__file__).with_name("country_codes.py").read_text()
    assert shipped == generate_country_codes.render()


def test_the_choices_are_every_accepted_code_named_in_the_language():
    with translation.override("en"):
        choices = countries.country_choices()
    assert sorted(code for code, _ in choices) == sorted(COUNTRY_ALPHA2_INPUT)
    names = dict(choices)
    assert names["DE"] == "Germany"
    assert names["US"] == "United States"
    # Sorted by name as the shopper reads them, not by code.
    listed = [name for _, name in choices]
    assert listed.index("Germany") < listed.index("Greece") < listed.index("Switzerland")
    with translation.override("fr"):
        french = dict(countries.country_choices())
    assert french["DE"] == "Allemagne"
    with translation.override("ja"):
        assert dict(countries.country_choices())["JP"] == "日本"
    assert countries.country_name("ch", "de") == "Schweiz"


def test_french_accents_sort_with_their_letter():
    names = [name for _, name in countries.country_choices("fr")]
    # "Égypte" sits among the E's, not after "Zimbabwe".
    assert names.index("Équateur") < names.index("Érythrée") < names.index("Espagne")
    assert names.index("Égypte") < names.index("Finlande")


@pytest.mark.parametrize("value", ["ZZ", "", None, "FRA", "ru", 12])
def test_codes_polar_refuses_are_not_accepted(value):
    assert not countries.is_accepted_country(value)


def test_accepted_codes_ignore_case_and_spaces():
    assert countries.is_accepted_country(" fr ")
    assert countries.normalise_country(" fr ") == "FR"


@pytest.mark.parametrize(
    ("address", "chosen"),
    [
        ({"country": "FR"}, "FR"),  # Polar's geolocated guess
        ({"country": "de"}, "DE"),
        ({"country": "ZZ"}, ""),  # unknown to Polar's list: the shopper chooses
        ({"country": "RU"}, ""),  # reported by Polar but not accepted in an address
        (None, ""),
        ("FR", ""),
    ],
)
def test_the_preselected_country(address, chosen):
    assert country_context({"customer_billing_address": address})["country"] == chosen


def test_address_fields_follow_polars_modes():
    fields = address_fields_context(
        {
            "billing_address_fields": {
                "country": "optional",  # an address without a country is refused anyway
                "postal_code": "required",
                "state": "required",
                "line2": "disabled",
                "line1": "optional",
            }
        }
    )
    assert fields["country"] == {"shown": True, "required": True}
    assert fields["postal_code"] == {"shown": True, "required": True}
    assert fields["line2"] == {"shown": False, "required": False}
    assert fields["line1"] == {"shown": True, "required": False}
    assert fields["city"] == {"shown": True, "required": False}  # not said: optional
    default = address_fields_context({})
    assert default["country"]["required"]
    assert not default["state"]["required"]


def _country_select(html: str) -> str:
    match = re.search(r'<select id="polar-country".*?</select>', html, re.S)
    assert match, "the checkout page has a country select"
    return match.group(0)


def test_the_checkout_page_offers_a_country_select(client, stub):
    stub.public.update(customer_billing_address={"country": "CH"})
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    select = _country_select(html)
    assert " required " in select
    assert 'data-polar-field="customer_billing_address.country"' in select
    codes = re.findall(r'<option value="([A-Z]*)"', select)
    assert codes[0] == ""  # "Choose your country" first
    assert sorted(codes[1:]) == sorted(COUNTRY_ALPHA2_INPUT)
    assert re.findall(r'<option value="([A-Z]*)" selected>', select) == ["CH"]
    assert '<option value="CH" selected>Switzerland</option>' in select
    assert '<label for="polar-country">Country</label>' in html
    assert 'id="polar-country-error" data-polar-error="customer_billing_address.country"' in html


def test_without_a_known_country_the_placeholder_is_selected(client, stub):
    stub.public.update(customer_billing_address=None)
    select = _country_select(client.get(f"/checkout/{SECRET}/").content.decode())
    assert '<option value="" selected>Choose your country</option>' in select
    assert " selected>" not in select.split("</option>", 1)[1]


def test_the_country_names_follow_the_language(client, stub):
    stub.public.update(customer_billing_address={"country": "DE"})
    with translation.override("fr"):
        select = _country_select(client.get(f"/checkout/{SECRET}/").content.decode())
    assert '<option value="DE" selected>Allemagne</option>' in select


def test_required_and_disabled_address_parts_on_the_page(client, stub):
    stub.public.update(
        billing_address_fields={
            "country": "required",
            "state": "required",
            "city": "optional",
            "postal_code": "required",
            "line1": "optional",
            "line2": "disabled",
        }
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert 'id="polar-line2"' not in html
    assert re.search(r'<input id="polar-postal-code"[^>]* required', html)
    assert re.search(r'<input id="polar-state"[^>]* required', html)
    assert not re.search(r'<input id="polar-city"[^>]* required', html)
