"""The pure payload rules: parsing a Polar checkout and "newer data wins", without a database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polar_checkouts import models
from polar_checkouts.exceptions import InvalidPayloadError, PolarError
from polar_checkouts.payload import (
    UNSTORED_KEYS,
    checkout_id_of,
    clip_text,
    fields_from_payload,
    incoming_wins,
    int_or_none,
    is_expired,
    merge_payload,
    parse_polar_datetime,
    status_rank,
    uuid_or_none,
)
from tests.polar_payloads import PRODUCT_ID, T0, T1, T2, checkout_payload

STATUSES = ["open", "confirmed", "succeeded", "failed", "expired"]


# -- parsing values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T12:00:00Z", T0),
        ("2026-11-01T12:00:00+00:00", T0),
        ("2026-11-01T13:00:00+01:00", T0),
        ("2026-11-01T12:00:00", T0),  # naive: Polar only sends UTC
        (T0, T0),
        (T0.replace(tzinfo=None), T0),
        ("2026-13-45T99:00:00Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1730462400, None),
    ],
)
def test_parse_polar_datetime(value, expected):
    assert parse_polar_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PRODUCT_ID, uuid.UUID(PRODUCT_ID)),
        (uuid.UUID(PRODUCT_ID), uuid.UUID(PRODUCT_ID)),
        (PRODUCT_ID.upper(), uuid.UUID(PRODUCT_ID)),
        ("not-a-uuid", None),
        ("", None),
        (None, None),
        (42, None),
        ({"id": PRODUCT_ID}, None),
    ],
)
def test_uuid_or_none(value, expected):
    assert uuid_or_none(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1900, 1900),
        ("1900", 1900),
        (19.99, 19),
        (-5, -5),
        (2**63 - 1, 2**63 - 1),
        (2**63, None),  # no BigIntegerField holds it
        (-(2**63) - 1, None),
        (True, None),
        (False, None),
        (None, None),
        ("19.00", None),
        (float("inf"), None),
        ([1900], None),
    ],
)
def test_int_or_none(value, expected):
    assert int_or_none(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Ada Lovelace", "Ada"), ("Ada", "Ada"), ("", ""), (None, ""), (42, ""), (["Ada"], "")],
)
def test_clip_text_cuts_strings_and_blanks_the_rest(value, expected):
    assert clip_text(value, 3) == expected


# -- the checkout id -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [{}, {"id": None}, {"id": "not-a-uuid"}, {"id": 42}])
def test_payload_without_a_uuid_is_refused(bad):
    with pytest.raises(InvalidPayloadError):
        checkout_id_of({**bad, "status": "open"})


@pytest.mark.parametrize("not_a_mapping", [None, [], "id", 42])
def test_a_payload_that_is_not_an_object_is_refused(not_a_mapping):
    with pytest.raises(InvalidPayloadError):
        checkout_id_of(not_a_mapping)


def test_checkout_id_of_a_valid_payload():
    payload = checkout_payload()
    assert checkout_id_of(payload) == uuid.UUID(payload["id"])


def test_invalid_payload_error_is_a_value_error_and_a_polar_error():
    assert issubclass(InvalidPayloadError, ValueError)
    assert issubclass(InvalidPayloadError, PolarError)
    assert models.InvalidPayloadError is InvalidPayloadError  # the documented path


# -- merging and promoting -------------------------------------------------------------------


def test_merge_keeps_what_the_incoming_payload_lacks():
    stored = checkout_payload(subscription_id="sub-1")
    public = checkout_payload(stored["id"], public=True, status="confirmed", customer_name="Grace")
    merged = merge_payload(stored, public)
    assert merged["status"] == "confirmed"
    assert merged["customer_name"] == "Grace"
    assert merged["metadata"] == {"order_ref": "A-1"}
    assert merged["subscription_id"] == "sub-1"
    assert merged["organization"]["slug"] == "acme"
    assert merge_payload(None, public) == public


def test_merge_never_keeps_the_customer_session_token():
    assert UNSTORED_KEYS == ("customer_session_token",)
    stored = {"id": "x", "customer_session_token": "polar_cst_old"}
    merged = merge_payload(stored, {"id": "x", "customer_session_token": "polar_cst_abc"})
    assert "customer_session_token" not in merged
    incoming = {"id": "x", "customer_session_token": "polar_cst_abc"}
    merge_payload(None, incoming)
    assert incoming["customer_session_token"] == "polar_cst_abc"  # the input is not changed


def test_fields_from_payload_promotes_the_columns():
    customer_id = str(uuid.uuid4())
    payload = checkout_payload(modified_at=T1, customer_id=customer_id, tax_amount=190)
    fields = fields_from_payload(payload)
    assert set(fields) == set(models.POLAR_FIELDS)
    assert fields["status"] == "open"
    assert fields["client_secret"] == payload["client_secret"]
    assert fields["product_id"] == uuid.UUID(PRODUCT_ID)
    assert fields["product_name"] == "Pro licence"
    assert fields["customer_id"] == uuid.UUID(customer_id)
    assert fields["customer_email"] == "ada@example.com"
    assert fields["customer_name"] == "Ada Lovelace"
    assert (fields["amount"], fields["tax_amount"], fields["total_amount"]) == (1900, 190, 1900)
    assert fields["currency"] == "usd"
    assert (fields["created_at"], fields["modified_at"]) == (T0, T1)
    assert fields["expires_at"] == T0 + dt.timedelta(minutes=30)
    assert fields["metadata"] == {"order_ref": "A-1"}
    assert fields["payload"] == payload


def test_fields_tolerate_unknown_keys_nulls_and_odd_types():
    payload = checkout_payload(
        product=None,
        product_price_id=None,
        product_id=None,
        amount=None,
        total_amount="lots",
        currency="USDX",
        client_secret="",
        customer_email=7,
        metadata=["not", "a", "dict"],
        brand_new_key={"nested": [1, 2]},
    )
    fields = fields_from_payload(payload)
    assert fields["product_id"] is None
    assert fields["product_price_id"] is None
    assert fields["product_name"] == ""
    assert (fields["amount"], fields["total_amount"]) == (None, None)
    assert fields["currency"] == "usd"
    assert fields["client_secret"] is None  # null, so the unique constraint ignores it
    assert fields["customer_email"] == ""
    assert fields["metadata"] == {}
    assert fields["payload"]["brand_new_key"] == {"nested": [1, 2]}


def test_fields_product_id_falls_back_to_the_nested_product():
    assert fields_from_payload(checkout_payload(product_id=None))["product_id"] == uuid.UUID(
        PRODUCT_ID
    )


def test_fields_clip_text_to_the_column_sizes():
    fields = fields_from_payload(
        checkout_payload(status="s" * 30, customer_name="n" * 300, customer_email="e" * 400)
    )
    assert len(fields["status"]) == 20
    assert len(fields["customer_name"]) == 255
    assert len(fields["customer_email"]) == 320


def test_a_payload_without_created_at_is_dated_now():
    payload = checkout_payload()
    del payload["created_at"]
    before = dt.datetime.now(dt.timezone.utc)
    assert fields_from_payload(payload)["created_at"] >= before


# -- "effectively expired" -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expires_at", "expected"),
    [
        ("open", T0 - dt.timedelta(seconds=1), True),
        ("open", T0, True),
        ("open", T0 + dt.timedelta(seconds=1), False),
        ("open", "2026-11-01T11:59:00Z", True),
        ("open", None, False),
        ("open", "garbage", False),
        ("expired", T0 + dt.timedelta(days=1), True),
        ("expired", None, True),
        ("confirmed", T0 - dt.timedelta(days=1), False),
        ("succeeded", T0 - dt.timedelta(days=1), False),
    ],
)
def test_is_expired_trusts_expires_at_over_an_open_status(status, expires_at, expected):
    assert is_expired(status, expires_at, now=T0) is expected


# -- the "newer data wins" rule ----------------------------------------------------------


def wins(stored, incoming):
    """``incoming_wins`` for two ``(status, modified_at, created_at)`` versions."""
    return incoming_wins(
        stored_status=stored[0],
        stored_modified_at=stored[1],
        stored_created_at=stored[2],
        incoming_status=incoming[0],
        incoming_modified_at=incoming[1],
        incoming_created_at=incoming[2],
    )


@pytest.mark.parametrize(
    ("stored", "incoming", "expected"),
    [
        (("open", T1, T0), ("open", T2, T0), True),
        (("open", T2, T0), ("succeeded", T1, T0), False),
        (("open", T1, T0), ("open", T1, T0), True),
        (("succeeded", T1, T0), ("open", T1, T0), False),
        (("confirmed", None, T0), ("open", None, T0), False),
        (("open", None, T0), ("confirmed", None, T0), True),
        (("confirmed", T1, T0), ("open", None, T0), False),
        (("open", None, T0), ("open", T1, T0), True),
        (("failed", None, None), ("succeeded", None, None), True),
        (("succeeded", None, None), ("failed", None, None), False),
        (("expired", T1, T0), ("failed", T1, T0), False),
    ],
)
def test_incoming_wins_table(stored, incoming, expected):
    assert wins(stored, incoming) is expected


def test_status_ranks_follow_the_lifecycle():
    assert status_rank("open") < status_rank("confirmed") < status_rank("failed")
    assert status_rank("failed") == status_rank("expired") < status_rank("succeeded")
    # A status Polar adds later is neither a start nor an end.
    assert status_rank("open") < status_rank("something_new") < status_rank("succeeded")


dates = st.none() | st.sampled_from([T0, T1, T2])


@given(
    stored=st.tuples(st.sampled_from(STATUSES), dates, dates),
    incoming=st.tuples(st.sampled_from(STATUSES), dates, dates),
)
def test_of_two_different_versions_at_most_one_wins_over_the_other(stored, incoming):
    a_when, b_when = stored[1] or stored[2], incoming[1] or incoming[2]
    if stored[0] != incoming[0] or (a_when and b_when and a_when != b_when):
        assert not (wins(stored, incoming) and wins(incoming, stored))
    if a_when and b_when and a_when != b_when:
        # Provably newer data always wins, whatever its status.
        assert wins(stored, incoming) is (b_when > a_when)


# -- the public view of a stored checkout -------------------------------------------------


def test_the_public_keys_are_checkout_public_s_in_every_spec_we_serve():
    """The union of ``CheckoutPublic``'s properties in the seed era, 2025-02, 2026-04, 2026-10."""
    import json
    from pathlib import Path

    from polar_checkouts.payload import PUBLIC_CHECKOUT_KEYS

    keys: set[str] = set()
    specs = sorted(Path(__file__).parent.joinpath("data").glob("polar-openapi-*.json"))
    for spec in specs:
        schemas = json.loads(spec.read_text())["components"]["schemas"]
        keys |= set(schemas.get("CheckoutPublic", {}).get("properties", {}))
    assert len(specs) >= 4
    assert keys == PUBLIC_CHECKOUT_KEYS
    assert not {"metadata", "customer_metadata", "external_customer_id"} & keys


def test_public_checkout_keeps_only_the_public_keys_and_needs_the_seller():
    from polar_checkouts.payload import organization_id_of, public_checkout

    organization = {"id": "11111111-1111-4111-8111-111111111111", "name": "Shop"}
    stored = {
        **checkout_payload(),
        "client_secret": "polar_c_x",
        "metadata": {"cart": "42"},
        "external_customer_id": "user-7",
        "organization_id": organization["id"],
    }
    assert public_checkout(stored) is None  # no seller known: ask Polar
    view = public_checkout(stored, organization)
    assert view is not None
    assert view["organization"] == organization
    assert "metadata" not in view
    assert "external_customer_id" not in view
    assert view["client_secret"] == "polar_c_x"
    # A payload that already shows its organization needs none given.
    assert public_checkout({**stored, "organization": organization}) == view
    assert public_checkout({**stored, "client_secret": None}, organization) is None
    assert organization_id_of(stored) == organization["id"]
    seed_era = {"product": {"organization_id": organization["id"].upper()}}
    assert organization_id_of(seed_era) == organization["id"]
    assert organization_id_of({"organization_id": "not-a-uuid"}) is None
