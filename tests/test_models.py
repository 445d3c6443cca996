"""The checkout cache: promoted columns, the upsert applying "newer data wins", querysets.

The rules themselves (parsing, "newer data wins") are tested without a database in
``test_payload.py``; these tests check that every upsert path applies them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

import hypothesis
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import strategies as st

from polar_checkouts import money
from polar_checkouts.models import (
    CheckoutSession,
    CheckoutStatus,
    InvalidPayloadError,
    format_amount,
    parse_polar_datetime,
)
from tests.polar_payloads import PRODUCT_ID, T0, T1, T2, checkout_payload
from tests.threads import errors_of, run_together

pytestmark = pytest.mark.django_db


def upsert(payload, **kwargs):
    return CheckoutSession.objects.upsert_from_polar(payload, **kwargs)


# -- promoted columns ------------------------------------------------------------------------


def test_create_promotes_columns_and_keeps_payload():
    payload = checkout_payload(modified_at=T1, customer_id=str(uuid.uuid4()), tax_amount=190)
    result = upsert(payload)

    assert result.created
    assert result.changed
    assert result.previous_status is None
    row = CheckoutSession.objects.get(pk=payload["id"])
    assert str(row.id) == payload["id"]
    assert row.status == CheckoutStatus.OPEN
    assert row.client_secret == payload["client_secret"]
    assert str(row.product_id) == PRODUCT_ID
    assert row.product_name == "Pro licence"
    assert row.customer_email == "ada@example.com"
    assert row.customer_name == "Ada Lovelace"
    assert str(row.customer_id) == payload["customer_id"]
    assert (row.amount, row.tax_amount, row.total_amount) == (1900, 190, 1900)
    assert row.currency == "usd"
    assert row.created_at == T0
    assert row.modified_at == T1
    assert row.expires_at == T0 + dt.timedelta(minutes=30)
    assert row.metadata == {"order_ref": "A-1"}
    assert row.payload == payload
    assert row.synced_at is not None


def test_unknown_keys_and_null_product_are_tolerated():
    payload = checkout_payload(
        product=None,
        product_price=None,
        product_id=None,
        product_price_id=None,
        amount=None,
        total_amount=None,
        currency=None,
        brand_new_key={"nested": [1, 2]},
        seats=3,
    )
    row = upsert(payload).checkout
    row.refresh_from_db()
    assert row.product_id is None
    assert row.product_price_id is None
    assert row.product_name == ""
    assert row.total_amount is None
    assert row.currency == ""
    assert row.payload["brand_new_key"] == {"nested": [1, 2]}
    assert row.formatted_total == ""


def test_product_id_falls_back_to_the_nested_product():
    row = upsert(checkout_payload(product_id=None)).checkout
    assert str(row.product_id) == PRODUCT_ID


@pytest.mark.parametrize("bad", [{}, {"id": None}, {"id": "not-a-uuid"}, {"id": 42}])
def test_payload_without_a_uuid_is_refused(bad):
    with pytest.raises(InvalidPayloadError):
        upsert({**bad, "status": "open"})
    assert CheckoutSession.objects.count() == 0


def test_customer_session_token_is_never_stored():
    payload = checkout_payload(status="confirmed", customer_session_token="polar_cst_abc")
    row = upsert(payload).checkout
    row.refresh_from_db()
    assert "customer_session_token" not in row.payload


# -- the "newer data wins" rule ----------------------------------------------------------


def test_a_stored_client_secret_never_changes():
    first = checkout_payload(client_secret="polar_c_first", modified_at=T0)
    upsert(first)
    upsert({**first, "client_secret": "polar_c_other", "modified_at": T1.isoformat()})
    assert CheckoutSession.objects.get().client_secret == "polar_c_first"


def test_a_new_checkout_claiming_a_cached_secret_is_refused():
    upsert(checkout_payload(client_secret="polar_c_taken"))
    with pytest.raises(InvalidPayloadError, match="client secret of another"):
        upsert(checkout_payload(client_secret="polar_c_taken"))
    assert CheckoutSession.objects.count() == 1


def test_a_page_with_one_secret_on_two_checkouts_is_refused_whole():
    page = [checkout_payload(client_secret="polar_c_twice") for _ in range(2)]
    page.append(checkout_payload())
    with pytest.raises(InvalidPayloadError):
        CheckoutSession.objects.upsert_many(page)
    assert CheckoutSession.objects.count() == 0


def test_newer_payload_overwrites_and_reports_previous_status():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, modified_at=T1))
    result = upsert(checkout_payload(checkout_id, status="succeeded", modified_at=T2))

    assert not result.created
    assert result.changed
    assert result.previous_status == "open"
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_older_payload_is_ignored():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status="succeeded", modified_at=T2))
    before = CheckoutSession.objects.get(pk=checkout_id)

    result = upsert(
        checkout_payload(checkout_id, status="open", modified_at=T1, customer_email="x@y.z")
    )

    assert not result.changed
    assert result.previous_status == "succeeded"
    after = CheckoutSession.objects.get(pk=checkout_id)
    assert after.status == "succeeded"
    assert after.customer_email == "ada@example.com"
    assert after.synced_at == before.synced_at


def test_equal_modified_at_applies_changes_of_the_same_status():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, modified_at=T1))
    result = upsert(checkout_payload(checkout_id, modified_at=T1, customer_email="new@x.com"))
    assert result.changed
    assert CheckoutSession.objects.get(pk=checkout_id).customer_email == "new@x.com"


def test_equal_modified_at_moves_forward_but_never_back():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, modified_at=T1))
    assert upsert(checkout_payload(checkout_id, status="confirmed", modified_at=T1)).changed
    assert not upsert(checkout_payload(checkout_id, status="open", modified_at=T1)).changed
    assert CheckoutSession.objects.get(pk=checkout_id).status == "confirmed"


def test_identical_payload_changes_nothing():
    payload = checkout_payload(modified_at=T1)
    first = upsert(payload).checkout
    with CaptureQueriesContext(connection) as queries:
        result = upsert(dict(payload))
    assert not result.changed
    assert not result.created
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert CheckoutSession.objects.get(pk=first.pk).synced_at == first.synced_at


def test_null_modified_at_is_dated_by_created_at_and_loses_to_a_modified_row():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status="confirmed", modified_at=T1))
    # A never-modified snapshot is as old as the checkout itself.
    result = upsert(checkout_payload(checkout_id, status="open", modified_at=None))
    assert not result.changed
    assert CheckoutSession.objects.get(pk=checkout_id).status == "confirmed"


def test_null_modified_at_on_both_sides_compares_statuses():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id))
    assert upsert(checkout_payload(checkout_id, customer_name="Grace")).changed
    assert CheckoutSession.objects.get(pk=checkout_id).customer_name == "Grace"


def test_modified_payload_beats_a_never_modified_row():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id))
    assert upsert(checkout_payload(checkout_id, status="expired", modified_at=T1)).changed


@pytest.mark.parametrize("terminal", ["succeeded", "failed", "expired"])
@pytest.mark.parametrize("stale", ["open", "confirmed"])
def test_terminal_status_is_not_rolled_back_by_unprovable_data(terminal, stale):
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status=terminal))  # modified_at null
    result = upsert(checkout_payload(checkout_id, status=stale))  # same date: unprovable
    assert not result.changed
    assert CheckoutSession.objects.get(pk=checkout_id).status == terminal


def test_succeeded_is_not_replaced_by_a_failed_of_the_same_date():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status="succeeded", modified_at=T1))
    assert not upsert(checkout_payload(checkout_id, status="failed", modified_at=T1)).changed
    assert not upsert(checkout_payload(checkout_id, status="failed", modified_at=T0)).changed
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_a_provably_newer_failure_does_replace_succeeded():
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status="succeeded", modified_at=T1))
    assert upsert(checkout_payload(checkout_id, status="failed", modified_at=T2)).changed
    assert CheckoutSession.objects.get(pk=checkout_id).status == "failed"


STATUSES = ["open", "confirmed", "succeeded", "failed", "expired"]


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6),
    order=st.randoms(use_true_random=False),
    bulk=st.booleans(),
)
def test_any_delivery_order_ends_with_the_newest_version(statuses, order, bulk):
    """Versions dated one minute apart, delivered in any order, one by one or in a page."""
    checkout_id = str(uuid.uuid4())
    versions = [
        checkout_payload(
            checkout_id,
            status=status,
            modified_at=T0 + dt.timedelta(minutes=i + 1),
            customer_name=f"v{i}",
        )
        for i, status in enumerate(statuses)
    ]
    shuffled = versions[:]
    order.shuffle(shuffled)
    if bulk:
        CheckoutSession.objects.upsert_many(shuffled)
    else:
        for version in shuffled:
            upsert(version)
    row = CheckoutSession.objects.get(pk=checkout_id)
    assert (row.status, row.customer_name) == (statuses[-1], f"v{len(statuses) - 1}")


def test_public_payload_keeps_what_it_lacks():
    checkout_id = str(uuid.uuid4())
    sub = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, modified_at=T1, subscription_id=sub))
    public = checkout_payload(
        checkout_id, public=True, status="confirmed", modified_at=T2, customer_name="Grace"
    )
    assert "metadata" not in public
    result = upsert(public)

    assert result.changed
    row = CheckoutSession.objects.get(pk=checkout_id)
    assert row.status == "confirmed"
    assert row.customer_name == "Grace"
    assert row.metadata == {"order_ref": "A-1"}
    assert row.payload["metadata"] == {"order_ref": "A-1"}
    assert row.payload["subscription_id"] == sub
    assert row.payload["organization"]["slug"] == "acme"


def test_public_payload_creates_a_row_without_metadata():
    row = upsert(checkout_payload(public=True)).checkout
    assert row.metadata == {}


def test_user_and_ip_are_recorded_once(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id), user=alice, ip_address="203.0.113.5")
    upsert(checkout_payload(checkout_id, modified_at=T1), user=bob, ip_address="198.51.100.1")
    row = CheckoutSession.objects.get(pk=checkout_id)
    assert row.user == alice
    assert row.ip_address == "203.0.113.5"


def test_anonymous_user_is_not_recorded():
    from django.contrib.auth.models import AnonymousUser

    row = upsert(checkout_payload(), user=AnonymousUser()).checkout
    assert row.user is None


# -- bulk upsert -----------------------------------------------------------------------------


def test_upsert_many_counts_and_follows_the_same_rule():
    known = checkout_payload(modified_at=T1)
    stale = checkout_payload(status="succeeded", modified_at=T2)
    upsert(known)
    upsert(stale)
    newer = {**known, "status": "succeeded", "modified_at": "2026-11-01T12:05:00Z"}
    older = {**stale, "status": "open", "modified_at": "2026-11-01T12:00:30Z"}
    fresh = checkout_payload()

    counts = CheckoutSession.objects.upsert_many([newer, older, fresh])

    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 1)
    assert CheckoutSession.objects.get(pk=known["id"]).status == "succeeded"
    assert CheckoutSession.objects.get(pk=stale["id"]).status == "succeeded"
    assert [(str(r.checkout.pk), r.created, r.previous_status) for r in counts.results] == [
        (fresh["id"], True, None),
        (known["id"], False, "open"),
    ]


def test_upsert_many_picks_the_newest_of_duplicates_on_a_page():
    checkout_id = str(uuid.uuid4())
    late = checkout_payload(checkout_id, status="succeeded", modified_at=T2)
    early = checkout_payload(checkout_id, status="open", modified_at=T1)
    counts = CheckoutSession.objects.upsert_many([late, early])
    assert counts.created == 1
    assert counts.rows == 2
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_upsert_many_falls_back_when_a_new_row_was_inserted_concurrently(monkeypatch):
    """A row inserted between the page's read and its bulk insert goes the careful way."""
    checkout_id = str(uuid.uuid4())
    upsert(checkout_payload(checkout_id, status="open", modified_at=T1))
    manager_class = type(CheckoutSession.objects)
    original = manager_class.select_for_update
    calls = []

    def first_read_misses(self, *args, **kwargs):
        calls.append(1)
        queryset = original(self, *args, **kwargs)
        # The bulk path's read does not see the row yet, as if inserted just after it.
        return queryset.none() if len(calls) == 1 else queryset

    monkeypatch.setattr(manager_class, "select_for_update", first_read_misses)
    fresh = checkout_payload()
    counts = CheckoutSession.objects.upsert_many(
        [checkout_payload(checkout_id, status="succeeded", modified_at=T2), fresh]
    )

    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 0)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
    assert CheckoutSession.objects.filter(pk=fresh["id"]).exists()


def test_upsert_many_of_nothing_makes_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        counts = CheckoutSession.objects.upsert_many([])
    assert counts.rows == 0


def _bulk_queries(payloads):
    with CaptureQueriesContext(connection) as queries:
        CheckoutSession.objects.upsert_many(payloads)
    return len(queries.captured_queries)


def test_upsert_many_uses_a_constant_number_of_queries():
    # 40 rows fit one INSERT and one UPDATE even under SQLite's 999-parameter limit.
    small = [checkout_payload() for _ in range(2)]
    large = [checkout_payload() for _ in range(40)]
    assert _bulk_queries(small) == _bulk_queries(large)

    # Updating: one read, one bulk update, whatever the number of rows.
    small_update = [{**p, "modified_at": "2026-11-02T00:00:00Z"} for p in small]
    large_update = [{**p, "modified_at": "2026-11-02T00:00:00Z"} for p in large]
    assert _bulk_queries(small_update) == _bulk_queries(large_update)


# -- helpers ---------------------------------------------------------------------------------


def test_format_amount_keeps_its_documented_path():
    # docs/howto/admin.md: polar_checkouts.models.format_amount is money's (tested in test_money).
    assert format_amount is money.format_amount


def test_formatted_properties():
    row = upsert(checkout_payload(amount=1000, tax_amount=200, total_amount=1200)).checkout
    assert (row.formatted_amount, row.formatted_tax, row.formatted_total) == (
        "10.00 USD",
        "2.00 USD",
        "12.00 USD",
    )


def _row(status, expires_in_minutes, **kwargs):
    now = timezone.now()
    payload = checkout_payload(
        status=status,
        created_at=now - dt.timedelta(hours=1),
        expires_at=now + dt.timedelta(minutes=expires_in_minutes),
        **kwargs,
    )
    return upsert(payload).checkout


def test_is_expired_trusts_expires_at_over_an_open_status():
    assert _row("open", -1).is_expired
    assert _row("expired", 30).is_expired
    assert not _row("open", 30).is_expired
    assert not _row("confirmed", -1).is_expired
    assert _row("open", -1).effective_status == "expired"
    assert _row("open", 30).is_open
    assert not _row("open", -1).is_open


def test_querysets(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    live = _row("open", 30)
    stale_open = _row("open", -5)
    expired = _row("expired", -5)
    paid = _row("succeeded", -5)
    failed = _row("failed", 10)
    confirmed = _row("confirmed", 10)
    CheckoutSession.objects.filter(pk=paid.pk).update(user=alice, customer_email="A@X.com")

    qs = CheckoutSession.objects
    assert set(qs.open()) == {live}
    assert set(qs.expired()) == {stale_open, expired}
    assert set(qs.not_expired()) == {live, paid, failed, confirmed}
    assert set(qs.succeeded()) == {paid}
    assert set(qs.failed()) == {failed}
    assert set(qs.confirmed()) == {confirmed}
    assert set(qs.for_user(alice)) == {paid}
    assert set(qs.for_user(None)) == set()
    assert set(qs.for_email("a@x.COM")) == {paid}
    assert qs.for_product(PRODUCT_ID).count() == 6
    # The filters chain like any queryset's.
    assert set(qs.filter(currency="usd").expired()) == {stale_open, expired}


def test_str_and_flags():
    row = _row("succeeded", 10)
    assert str(row) == "Pro licence (Succeeded)"
    assert row.is_paid
    assert row.is_terminal


# -- concurrency (PostgreSQL row locks) -----------------------------------------------------


def _race(payloads):
    """Upsert each payload from its own thread and connection, all released at once."""
    jobs = [functools.partial(CheckoutSession.objects.upsert_from_polar, p) for p in payloads]
    assert errors_of(run_together(*jobs)) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_an_existing_row_end_with_the_newest():
    for attempt in range(10):
        checkout_id = str(uuid.uuid4())
        upsert(checkout_payload(checkout_id, modified_at=T0))
        versions = [
            checkout_payload(checkout_id, status="confirmed", modified_at=T1),
            checkout_payload(checkout_id, status="succeeded", modified_at=T2),
            checkout_payload(checkout_id, status="open", modified_at=T0 + dt.timedelta(seconds=1)),
        ]
        if attempt % 2:
            versions.reverse()
        _race(versions)
        row = CheckoutSession.objects.get(pk=checkout_id)
        assert (row.status, row.modified_at) == ("succeeded", T2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_inserts_create_one_row_with_the_newest():
    for attempt in range(10):
        checkout_id = str(uuid.uuid4())
        versions = [
            checkout_payload(checkout_id, status="open", modified_at=T1),
            checkout_payload(checkout_id, status="succeeded", modified_at=T2),
        ]
        if attempt % 2:
            versions.reverse()
        _race(versions)
        assert CheckoutSession.objects.filter(pk=checkout_id).count() == 1
        assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_and_single_upserts_keep_the_newest():
    for _attempt in range(5):
        ids = [str(uuid.uuid4()) for _ in range(20)]
        page = [checkout_payload(i, status="open", modified_at=T1) for i in ids]
        newer = checkout_payload(ids[7], status="succeeded", modified_at=T2)
        results = run_together(
            functools.partial(CheckoutSession.objects.upsert_many, page),
            functools.partial(CheckoutSession.objects.upsert_from_polar, newer),
        )
        assert errors_of(results) == []
        assert CheckoutSession.objects.filter(pk__in=ids).count() == 20
        assert CheckoutSession.objects.get(pk=ids[7]).status == "succeeded"


@pytest.mark.postgres
def test_new_rows_are_copied_on_postgresql_and_round_trip_exactly():
    awkward = 'Zoë "Tab\\there"\nnew line \\N back\\slash, comma; 🙂'
    payloads = [
        checkout_payload(
            customer_name=awkward,
            customer_email=None,
            metadata={"order": awkward, "n": 7, "ok": True},
            total_amount=None,
        )
        for _ in range(3)
    ]
    with CaptureQueriesContext(connection) as queries:
        counts = CheckoutSession.objects.upsert_many(payloads)
    assert counts.created == 3
    assert any(q["sql"].startswith("COPY ") for q in queries.captured_queries)
    assert not any(q["sql"].startswith("INSERT") for q in queries.captured_queries)
    for payload in payloads:
        stored = CheckoutSession.objects.get(pk=payload["id"])
        assert stored.customer_name == awkward
        assert stored.customer_email == ""
        assert stored.total_amount is None
        assert stored.metadata == {"order": awkward, "n": 7, "ok": True}
        assert stored.payload["customer_name"] == awkward
        assert stored.created_at == parse_polar_datetime(payload["created_at"])
