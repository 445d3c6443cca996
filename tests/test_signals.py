"""The fulfilment signals, sent from the one store path whatever the source of the data."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import connection

from polar_checkouts import services, signals
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import BASE_TIME, CHECKOUTS_URL, PolarListStub, checkout_payload
from tests.webhook_helpers import connected, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def polar():
    """Polar's API through ``responses``: ``polar.serve(payload)`` answers GET by id."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        class Polar:
            stub = PolarListStub().register(rsps)

            @staticmethod
            def serve(payload):
                rsps.upsert("GET", CHECKOUTS_URL + payload["id"], json=payload)

        yield Polar


def at(minutes):
    return BASE_TIME + dt.timedelta(minutes=minutes)


def succeeded_ids(log):
    return [str(call["checkout"].pk) for call in log["checkout_succeeded"]]


# -- checkout_updated -------------------------------------------------------------------------


def test_checkout_updated_on_first_store_and_on_each_change(signal_log):
    checkout_id = str(uuid.uuid4())
    services.store_checkout(checkout_payload(checkout_id, status="open"))
    services.store_checkout(checkout_payload(checkout_id, status="open"))  # identical
    services.store_checkout(checkout_payload(checkout_id, status="confirmed", modified_at=at(1)))

    calls = signal_log["checkout_updated"]
    assert [c["previous_status"] for c in calls] == [None, "open"]
    assert [c["checkout"].status for c in calls] == ["open", "confirmed"]
    assert all(c["sender"] is CheckoutSession for c in calls)


def test_stale_data_sends_nothing(signal_log):
    checkout_id = str(uuid.uuid4())
    services.store_checkout(checkout_payload(checkout_id, status="succeeded", modified_at=at(5)))
    services.store_checkout(checkout_payload(checkout_id, status="confirmed", modified_at=at(2)))
    assert len(signal_log["checkout_updated"]) == 1
    assert len(signal_log["checkout_succeeded"]) == 1


# -- checkout_succeeded: exactly once, whichever path sees it first ---------------------------


def test_succeeded_is_sent_once_by_the_first_path(client, polar, signal_log):
    checkout_id = str(uuid.uuid4())
    payload = checkout_payload(checkout_id, status="succeeded", modified_at=at(3))
    polar.serve(payload)
    polar.stub.checkouts = [payload]

    services.refresh_checkout(checkout_id)  # e.g. the status poll
    deliver(client, "checkout.updated", payload)  # the webhook
    services.refresh_checkout(checkout_id)  # the success page
    services.sync_checkouts()  # the sync command
    services.store_checkout({**payload, "modified_at": at(9).isoformat()})  # newer data

    assert succeeded_ids(signal_log) == [checkout_id]
    (call,) = signal_log["checkout_succeeded"]
    assert call["sender"] is CheckoutSession
    assert call["checkout"].status == "succeeded"
    assert call["checkout"].succeeded_notified_at is not None
    assert CheckoutSession.objects.get(pk=checkout_id).succeeded_notified_at is not None


def test_webhook_first_then_refresh(client, polar, signal_log):
    checkout_id = str(uuid.uuid4())
    payload = checkout_payload(checkout_id, status="succeeded", modified_at=at(3))
    polar.serve(payload)
    deliver(client, "checkout.updated", payload)
    services.refresh_checkout(checkout_id)
    assert succeeded_ids(signal_log) == [checkout_id]


def test_sync_sends_it_for_each_succeeded_checkout(polar, signal_log):
    paid = [checkout_payload(status="succeeded") for _ in range(3)]
    unpaid = [checkout_payload(status=s) for s in ("open", "failed", "expired", "confirmed")]
    polar.stub.checkouts = paid + unpaid

    services.sync_checkouts()
    services.sync_checkouts()

    assert sorted(succeeded_ids(signal_log)) == sorted(p["id"] for p in paid)
    assert len(signal_log["checkout_updated"]) == 7


def test_not_sent_for_other_statuses(signal_log):
    for status in ("open", "confirmed", "failed", "expired"):
        services.store_checkout(checkout_payload(status=status))
    assert signal_log["checkout_succeeded"] == []


def test_sent_when_the_succeeded_row_was_stored_without_signals(signal_log):
    # A row that reached "succeeded" through a path that sent nothing (e.g. a direct
    # upsert by custom code) is announced by the next store, even with unchanged data.
    payload = checkout_payload(status="succeeded")
    CheckoutSession.objects.upsert_from_polar(payload)
    services.store_checkout(payload)
    services.store_checkout(payload)
    assert succeeded_ids(signal_log) == [payload["id"]]


def test_the_transition_sends_updated_then_succeeded(signal_log):
    order: list[tuple[str, ...]] = []
    checkout_id = str(uuid.uuid4())
    services.store_checkout(checkout_payload(checkout_id, status="confirmed"))

    def on_updated(sender, checkout, previous_status, **kwargs):
        order.append(("updated", previous_status, checkout.status))

    def on_succeeded(sender, checkout, **kwargs):
        order.append(("succeeded", checkout.status))

    signals.checkout_updated.connect(on_updated, dispatch_uid="t-upd")
    signals.checkout_succeeded.connect(on_succeeded, dispatch_uid="t-suc")
    try:
        services.store_checkout(
            checkout_payload(checkout_id, status="succeeded", modified_at=at(2))
        )
    finally:
        signals.checkout_updated.disconnect(dispatch_uid="t-upd")
        signals.checkout_succeeded.disconnect(dispatch_uid="t-suc")
    assert order == [("updated", "confirmed", "succeeded"), ("succeeded", "succeeded")]


# -- receivers run in the storing transaction ---------------------------------------------------


def test_receivers_run_inside_the_transaction_that_stored_the_change():
    seen = []

    def receiver(sender, checkout, **kwargs):
        seen.append(connection.in_atomic_block)

    with connected(signals.checkout_succeeded, receiver):
        services.store_checkout(checkout_payload(status="succeeded"))
    assert seen == [True]


def test_a_failing_receiver_rolls_back_and_the_next_path_sends_again(polar, signal_log):
    checkout_id = str(uuid.uuid4())
    payload = checkout_payload(checkout_id, status="succeeded", modified_at=at(3))
    services.store_checkout(checkout_payload(checkout_id, status="confirmed"))
    polar.serve(payload)
    User = get_user_model()

    def fulfil_then_fail(sender, checkout, **kwargs):
        User.objects.create(username=f"licence-{checkout.pk}")  # the receiver's own write
        raise RuntimeError("mail server down")

    with (
        connected(signals.checkout_succeeded, fulfil_then_fail),
        pytest.raises(signals.ReceiverError, match="mail server down") as raised,
    ):
        services.refresh_checkout(checkout_id)
    assert isinstance(raised.value.__cause__, RuntimeError)

    stored = CheckoutSession.objects.get(pk=checkout_id)
    assert stored.status == "confirmed"  # the change was rolled back with the receiver
    assert stored.succeeded_notified_at is None
    assert not User.objects.filter(username__startswith="licence-").exists()

    services.refresh_checkout(checkout_id)
    assert succeeded_ids(signal_log) == [checkout_id, checkout_id]  # failed try, then once
    stored.refresh_from_db()
    assert stored.status == "succeeded"
    assert stored.succeeded_notified_at is not None


def test_send_checkout_signals_directly_after_an_upsert(signal_log):
    payload = checkout_payload(status="succeeded")
    result = CheckoutSession.objects.upsert_from_polar(payload)
    services.send_checkout_signals(result)
    services.send_checkout_signals(result)
    assert succeeded_ids(signal_log) == [payload["id"]]
    assert len(signal_log["checkout_updated"]) == 2  # once per call with a changed result


def test_a_stale_in_memory_checkout_cannot_claim_the_success_twice(signal_log):
    payload = checkout_payload(status="succeeded")
    stale = CheckoutSession.objects.upsert_from_polar(payload)  # sent nothing yet
    services.store_checkout(payload)  # claims and sends
    assert stale.checkout.succeeded_notified_at is None  # this copy never saw the claim
    services.send_checkout_signals(stale)
    assert succeeded_ids(signal_log) == [payload["id"]]


def test_a_page_claims_its_successes_with_constant_queries(signal_log):
    from django.test.utils import CaptureQueriesContext

    def store_page(rows):
        payloads = [checkout_payload(status="succeeded", modified_at=at(1)) for _ in range(rows)]
        with CaptureQueriesContext(connection) as queries:
            services.store_checkouts(payloads)
        # INSERTs are left out: SQLite splits a large bulk insert to fit its variable limit.
        return payloads, len(
            [q for q in queries.captured_queries if not q["sql"].startswith("INSERT")]
        )

    small, small_queries = store_page(5)
    large, large_queries = store_page(50)
    # Savepoints included: nothing in a page's store and signal work is per row.
    assert small_queries == large_queries
    expected = sorted(p["id"] for p in small + large)
    assert sorted(succeeded_ids(signal_log)) == expected
    assert CheckoutSession.objects.filter(succeeded_notified_at__isnull=True).count() == 0

    services.store_checkouts(large)  # a re-run stores and sends nothing more
    assert len(signal_log["checkout_succeeded"]) == 55
