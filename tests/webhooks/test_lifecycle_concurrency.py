"""A membership's events processed by several workers at once, on PostgreSQL.

Each thread has its own connection and processes its share of the lifecycle's events
(shuffled), as webhook workers would; duplicates of the same data travel in different
threads. Row locks and the signal claims must give the same end state as one worker, and
each once-only signal once.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from polar_checkouts import signals
from polar_checkouts.access import has_active_subscription
from polar_checkouts.models import Order, Subscription, WebhookOutcome
from polar_checkouts.webhooks.processing import process_event, record_delivery
from tests.polar_objects import PRODUCT_ID, at
from tests.threads import errors_of, run_together
from tests.webhook_helpers import connected
from tests.webhooks.lifecycle import ONCE_SIGNALS, Membership

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 4


def _slow(sender: Any, **kwargs: Any) -> None:
    time.sleep(0.02)  # widens the window in which workers overlap; nothing is timed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_workers_end_in_the_same_state_and_signal_once(
    signal_log, django_user_model, seed
):
    user = django_user_model.objects.create_user("member")
    member = Membership(external_id=str(user.pk))
    events = member.events() * 2  # every delivery twice (distinct webhook ids)
    random.Random(seed).shuffle(events)
    shares = [events[i::WORKERS] for i in range(WORKERS)]

    def worker(share: list[tuple[str, dict[str, Any]]], number: int) -> list[str]:
        outcomes = []
        for index, (event_type, data) in enumerate(share):
            event, _ = record_delivery(
                webhook_id=f"msg_{seed}_{number}_{index}",
                payload={"type": event_type, "timestamp": at(10), "data": data},
                headers={},
            )
            outcomes.append(process_event(event).outcome)
        return outcomes

    with connected(signals.subscription_updated, _slow), connected(signals.order_paid, _slow):
        results = run_together(
            *[lambda share=share, n=n: worker(share, n) for n, share in enumerate(shares)]
        )

    assert errors_of(results) == []
    assert all(outcome == WebhookOutcome.PROCESSED for result in results for outcome in result)
    sub = Subscription.objects.get(pk=member.subscription_id)
    assert (sub.status, sub.user_id) == ("canceled", user.pk)
    statuses = {str(o.pk): o.status for o in Order.objects.all()}
    assert [statuses[o] for o in member.order_ids] == ["refunded", "paid", "paid"]
    assert {name: len(signal_log[name]) for name in ONCE_SIGNALS} == ONCE_SIGNALS
    assert not has_active_subscription(user, PRODUCT_ID)
