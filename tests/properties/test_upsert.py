"""Whatever Polar sends, the one upsert path stores a sane row or refuses, never crashes.

``CheckoutSession.objects.upsert_from_polar`` is fed real checkout payloads with keys
replaced by arbitrary JSON, dropped or added. It either stores a row whose promoted
columns are well-formed, or raises :class:`~polar_checkouts.exceptions.InvalidPayloadError`
and stores nothing. The same holds for ``upsert_many`` (a sync page) and for the
service that also sends the signals.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polar_checkouts import services
from polar_checkouts.exceptions import InvalidPayloadError
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import checkout_payload

pytestmark = pytest.mark.django_db

fuzz = hypothesis_settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=15), children, max_size=3)
    ),
    max_leaves=10,
)
# Values Polar plausibly sends for a key, plus the wrong type and the absurd.
datetimes = st.one_of(
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 1, 1)).map(
        lambda d: d.isoformat() + "Z"
    ),
    st.text(max_size=30),
    json_values,
)
amounts = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80), st.text(max_size=10), json_values
)
statuses = st.one_of(
    st.sampled_from(["open", "confirmed", "succeeded", "failed", "expired", "", "OPEN"]),
    st.text(max_size=40),
    json_values,
)
ids = st.one_of(st.uuids().map(str), st.text(max_size=40), json_values)
overrides = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "status": statuses,
        "client_secret": st.one_of(st.text(max_size=300), json_values),
        "created_at": datetimes,
        "modified_at": datetimes,
        "expires_at": datetimes,
        "amount": amounts,
        "tax_amount": amounts,
        "total_amount": amounts,
        "currency": st.one_of(st.text(max_size=8), json_values),
        "customer_email": st.one_of(st.text(max_size=400), json_values),
        "customer_name": st.one_of(st.text(max_size=300), json_values),
        "customer_id": ids,
        "product_id": ids,
        "product_price_id": ids,
        "product": st.one_of(
            st.fixed_dictionaries(
                {"id": ids, "name": st.one_of(st.text(max_size=300), json_values)}
            ),
            json_values,
        ),
        "metadata": json_values,
        "customer_session_token": st.text(max_size=20),
    },
)
extra_keys = st.dictionaries(st.text(max_size=20), json_values, max_size=3)
dropped = st.sets(
    st.sampled_from(
        ["created_at", "modified_at", "status", "client_secret", "product", "metadata"]
    ),
    max_size=3,
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A real checkout payload, then some keys replaced, dropped or added."""
    payload = checkout_payload(str(draw(st.uuids())))
    payload.update(draw(extra_keys))
    payload.update(draw(overrides))
    for key in draw(dropped):
        payload.pop(key, None)
    return payload


def database_can_store(value: Any) -> bool:
    """PostgreSQL's JSON and text refuse NUL characters; Polar never sends them."""
    return "\\u0000" not in json.dumps(value) and "\x00" not in json.dumps(value)


def assert_sane(row: CheckoutSession) -> None:
    row.refresh_from_db()
    assert isinstance(row.status, str)
    assert len(row.status) <= 20
    assert row.currency == "" or len(row.currency) <= 3
    for name in ("amount", "tax_amount", "total_amount"):
        value = getattr(row, name)
        assert value is None or (isinstance(value, int) and abs(value) < 2**63)
    assert row.created_at is not None
    assert isinstance(row.metadata, dict)
    assert "customer_session_token" not in row.payload
    assert row.client_secret is None or len(row.client_secret) <= 255


def _valid_id(payload: dict[str, Any]) -> bool:
    try:
        uuid.UUID(str(payload.get("id")))
    except ValueError:
        return False
    return payload.get("id") not in (None, "")


@fuzz
@given(payload=payloads())
def test_upsert_stores_a_sane_row_or_refuses(payload):
    if not database_can_store(payload):
        return
    CheckoutSession.objects.all().delete()  # examples share the test's transaction
    before = CheckoutSession.objects.count()
    try:
        result = CheckoutSession.objects.upsert_from_polar(payload)
    except InvalidPayloadError:
        assert not _valid_id(payload)
        assert CheckoutSession.objects.count() == before
        return
    assert result.created
    assert CheckoutSession.objects.count() == before + 1
    assert_sane(result.checkout)


@fuzz
@given(first=payloads(), second=payloads())
def test_a_second_payload_for_the_same_checkout_never_corrupts_it(first, second):
    if not (database_can_store(first) and database_can_store(second)):
        return
    CheckoutSession.objects.all().delete()
    first["id"] = second["id"] = str(uuid.uuid4())
    stored = CheckoutSession.objects.upsert_from_polar(first).checkout
    result = CheckoutSession.objects.upsert_from_polar(second)
    assert result.checkout.pk == stored.pk
    assert CheckoutSession.objects.count() == 1
    assert_sane(result.checkout)
    if stored.status == "succeeded":
        # Nothing Polar sends later (stale or odd) takes a paid checkout back.
        assert result.checkout.status == "succeeded" or result.changed


def _secrets_clash(page: list[dict[str, Any]]) -> bool:
    """Two different checkouts of the page claim one client secret (Polar never does)."""
    owners: dict[str, set[str]] = {}
    for payload in page:
        secret = payload.get("client_secret")
        if isinstance(secret, str) and secret:
            owners.setdefault(secret, set()).add(str(payload.get("id")).lower())
    return any(len(ids) > 1 for ids in owners.values())


@fuzz
@given(page=st.lists(payloads(), max_size=5))
def test_a_sync_page_of_odd_payloads_is_stored_or_refused_whole(page):
    if not all(database_can_store(payload) for payload in page):
        return
    CheckoutSession.objects.all().delete()
    before = CheckoutSession.objects.count()
    try:
        counts = services.store_checkouts(page)
    except InvalidPayloadError:
        assert not all(_valid_id(payload) for payload in page) or _secrets_clash(page)
        assert CheckoutSession.objects.count() == before  # the page's transaction rolled back
        return
    assert counts.rows == len(page)
    for row in CheckoutSession.objects.all():
        assert_sane(row)


def test_absurd_amounts_do_not_overflow_the_columns():
    payload = checkout_payload(amount=2**80, tax_amount=-(2**70), total_amount=1e300)
    row = CheckoutSession.objects.upsert_from_polar(payload).checkout
    assert_sane(row)
    assert (row.amount, row.tax_amount, row.total_amount) == (None, None, None)
    assert row.payload["amount"] == 2**80  # the raw payload keeps what Polar said
