"""The read-only checkout admin: list, search, detail, actions, sync."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import django
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from polar_checkouts.models import CheckoutSession
from tests.admin.helpers import (
    CHANGELIST,
    OVERVIEW,
    SYNC,
    TOTALS,
    changelist_queries,
    listed_ids,
    messages_of,
    recent,
    store,
)
from tests.polar_payloads import CHECKOUTS_URL, PolarListStub, checkout_payload

pytestmark = pytest.mark.django_db


def change_url(checkout):
    return reverse("admin:polar_checkouts_checkoutsession_change", args=[checkout.pk])


# -- access ----------------------------------------------------------------------------------


def test_non_staff_is_redirected_to_login(django_user_model):
    user = django_user_model.objects.create_user("shopper", password="pw")
    client = Client()
    client.force_login(user)
    for url in (reverse(CHANGELIST), reverse(OVERVIEW)):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


def test_staff_without_view_permission_is_forbidden(make_staff):
    client = Client()
    client.force_login(make_staff("nobody"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse(OVERVIEW)).status_code == 403


def test_admin_is_read_only(viewer_client):
    checkout = store()
    assert (
        viewer_client.get(reverse("admin:polar_checkouts_checkoutsession_add")).status_code == 403
    )
    delete = reverse("admin:polar_checkouts_checkoutsession_delete", args=[checkout.pk])
    assert viewer_client.get(delete).status_code == 403
    response = viewer_client.post(change_url(checkout), {"status": "succeeded"})
    assert response.status_code == 403
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "open"
    page = viewer_client.get(change_url(checkout)).content.decode()
    assert 'name="_save"' not in page


# -- the list --------------------------------------------------------------------------------


def test_changelist_uses_the_same_number_of_queries_for_0_1_and_many_rows(
    operator_client, django_user_model
):
    shopper = django_user_model.objects.create_user("shopper")
    empty, _ = changelist_queries(operator_client, CHANGELIST)
    first = recent(user=None)
    CheckoutSession.objects.filter(pk=first.pk).update(user=shopper)
    one, _ = changelist_queries(operator_client, CHANGELIST)
    for i in range(40):
        checkout = recent(minutes_ago=i, status=["open", "succeeded", "failed"][i % 3])
        CheckoutSession.objects.filter(pk=checkout.pk).update(user=shopper)
    many, response = changelist_queries(operator_client, CHANGELIST)

    assert empty == one == many
    assert response.context["cl"].result_count == 41


def test_changelist_columns(viewer_client):
    checkout = recent(status="succeeded", total_amount=3800, customer_name="Grace <b>Hopper</b>")
    page = viewer_client.get(reverse(CHANGELIST)).content.decode()

    assert "38.00 USD" in page
    assert "polar-status-succeeded" in page
    assert "Pro licence" in page
    assert "ada@example.com" in page
    assert "Grace &lt;b&gt;Hopper&lt;/b&gt;" in page
    assert checkout.client_secret not in page
    assert "polar_c_" not in page


def test_changelist_totals_have_each_currencys_decimal_places(viewer_client):
    for currency, minor, _text in TOTALS:
        recent(currency=currency, total_amount=minor)
    page = viewer_client.get(reverse(CHANGELIST)).content.decode()

    for _currency, _minor, text in TOTALS:
        assert text in page
    assert "5.00 JPY" not in page
    assert "15.00 KWD" not in page


def test_changelist_shows_open_but_past_expiry_as_expired(viewer_client):
    recent(minutes_ago=45)  # expired 15 minutes ago, Polar still says open
    page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    assert "polar-status-expired" in page
    assert '<small class="polar-status-note">still open in Polar</small>' in page


def test_changelist_counts_exactly_without_a_full_count(viewer_client):
    for i in range(3):
        recent(minutes_ago=i)
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(reverse(CHANGELIST), {"status__exact": "open"})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # show_full_result_count = False: only the filtered count, no second COUNT(*) of all rows.
    assert len(counts) == 1


def test_search_by_email_name_product_and_exact_id(viewer_client):
    ada = recent(customer_email="ada@example.com", customer_name="Ada")
    grace = recent(customer_email="grace@navy.mil", customer_name="Grace Hopper")
    other = recent(product={"id": str(uuid.uuid4()), "name": "Sticker pack"})

    def search(term):
        return listed_ids(viewer_client.get(reverse(CHANGELIST), {"q": term}))

    assert search("navy.mil") == {str(grace.pk)}
    assert search("hopper") == {str(grace.pk)}
    assert search("sticker") == {str(other.pk)}
    assert search(str(ada.pk)) == {str(ada.pk)}
    assert search(str(uuid.uuid4())) == set()
    assert search("not-a-uuid-%") == set()


# -- the detail page -------------------------------------------------------------------------


def test_detail_masks_secrets_and_escapes_the_payload(viewer_client):
    checkout = store(
        customer_name="<script>alert(1)</script>",
        payment_processor_metadata={"intent_client_secret": "pi_123_secret_456"},
    )
    page = viewer_client.get(change_url(checkout)).content.decode()

    assert checkout.client_secret not in page
    assert "pi_123_secret_456" not in page
    assert "polar_c_…****" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;order_ref&quot;: &quot;A-1&quot;" in page  # metadata, pretty-printed
    assert re.search(r"<pre[^>]*>\{\s+&quot;allow_discount_codes&quot;", page)


@pytest.mark.parametrize(
    ("currency", "amount", "tax", "total", "texts"),
    [
        ("usd", 1900, 190, 2090, ("19.00 USD", "1.90 USD", "20.90 USD")),
        ("eur", 1250, 250, 1500, ("12.50 EUR", "2.50 EUR", "15.00 EUR")),
        ("jpy", 500, 50, 550, ("500 JPY", "50 JPY", "550 JPY")),
        ("kwd", 1500, 75, 1575, ("1.500 KWD", "0.075 KWD", "1.575 KWD")),
    ],
)
def test_detail_amounts_have_the_currencys_decimal_places(
    viewer_client, currency, amount, tax, total, texts
):
    checkout = store(currency=currency, amount=amount, tax_amount=tax, total_amount=total)
    page = viewer_client.get(change_url(checkout)).content.decode()
    for text in texts:
        assert f">{text}</" in page


def test_detail_links_to_polars_dashboard(viewer_client, settings):
    checkout = store()
    page = viewer_client.get(change_url(checkout)).content.decode()
    # No developer hint for the shop owner (manage.py check gives it, I001): just empty.
    assert "POLAR_ORGANIZATION_SLUG" not in page
    assert "/dashboard/" not in page

    settings.POLAR_ORGANIZATION_SLUG = "acme"
    page = viewer_client.get(change_url(checkout)).content.decode()
    assert f"https://sandbox.polar.sh/dashboard/acme/sales/checkouts/{checkout.pk}" in page

    settings.POLAR_SERVER = "production"
    page = viewer_client.get(change_url(checkout)).content.decode()
    assert f"https://polar.sh/dashboard/acme/sales/checkouts/{checkout.pk}" in page


def test_dashboard_link_uses_the_slug_of_a_public_payload(viewer_client):
    checkout = store(public=True)
    page = viewer_client.get(change_url(checkout)).content.decode()
    assert f"https://sandbox.polar.sh/dashboard/acme/sales/checkouts/{checkout.pk}" in page


# -- actions ---------------------------------------------------------------------------------


def _refresh(client, *checkouts):
    return client.post(
        reverse(CHANGELIST),
        {"action": "refresh_from_polar", "_selected_action": [str(c.pk) for c in checkouts]},
        follow=True,
    )


def test_refresh_action_updates_rows(operator_client, rsps):
    checkout = store()
    newer = checkout_payload(str(checkout.pk), status="succeeded", modified_at=timezone.now())
    rsps.get(CHECKOUTS_URL + str(checkout.pk), json=newer)

    response = _refresh(operator_client, checkout)

    assert response.status_code == 200
    assert "Refreshed 1 checkout session from Polar." in messages_of(response)
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "succeeded"


def test_refresh_action_reports_polar_failures_without_a_500(operator_client, rsps):
    ok, broken = store(), store()
    rsps.get(CHECKOUTS_URL + str(ok.pk), json=checkout_payload(str(ok.pk)))
    rsps.get(
        CHECKOUTS_URL + str(broken.pk),
        json={"error": "ResourceNotFound", "detail": "Not found"},
        status=404,
    )

    response = _refresh(operator_client, ok, broken)

    assert response.status_code == 200
    messages = messages_of(response)
    assert any(f"Could not refresh {broken.pk} from Polar" in m and "404" in m for m in messages)
    assert "Refreshed 1 checkout session from Polar." in messages


def test_refresh_reports_a_failing_fulfilment_receiver_without_a_500(operator_client, rsps):
    from polar_checkouts import signals

    checkout = store()
    newer = checkout_payload(str(checkout.pk), status="succeeded", modified_at=timezone.now())
    rsps.get(CHECKOUTS_URL + str(checkout.pk), json=newer)

    def broken(sender, **kwargs):
        raise RuntimeError("licence server down")

    signals.checkout_succeeded.connect(broken)
    try:
        listed = _refresh(operator_client, checkout)
        button = operator_client.post(
            reverse("admin:polar_checkouts_checkoutsession_refresh", args=[checkout.pk]),
            follow=True,
        )
    finally:
        signals.checkout_succeeded.disconnect(broken)
    for response in (listed, button):
        assert response.status_code == 200
        assert any("licence server down" in m for m in messages_of(response))
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "open"  # rolled back


def test_refresh_action_needs_the_sync_permission(viewer_client, rsps):
    checkout = store()
    page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    assert "refresh_from_polar" not in page
    _refresh(viewer_client, checkout)
    assert len(rsps.calls) == 0


# -- the sync button -------------------------------------------------------------------------


def test_sync_button_is_shown_to_operators_only(operator_client, viewer_client):
    assert "Sync from Polar" in operator_client.get(reverse(CHANGELIST)).content.decode()
    assert "Sync from Polar" not in viewer_client.get(reverse(CHANGELIST)).content.decode()
    assert reverse(OVERVIEW) in viewer_client.get(reverse(CHANGELIST)).content.decode()


def test_sync_button_runs_a_sync_of_the_last_30_days(operator_client, rsps, settings):
    settings.POLAR_ORGANIZATION_ID = "org-1"
    now = timezone.now()
    recent_ones = [checkout_payload(created_at=now - dt.timedelta(days=d)) for d in (0, 3, 29)]
    too_old = checkout_payload(created_at=now - dt.timedelta(days=31))
    stub = PolarListStub([*recent_ones, too_old]).register(rsps)

    response = operator_client.post(reverse(SYNC), follow=True)

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    assert "Synced from Polar: created 3, updated 0, unchanged 0." in messages_of(response)
    assert CheckoutSession.objects.count() == 3
    assert not CheckoutSession.objects.filter(pk=too_old["id"]).exists()
    assert stub.queries[0]["organization_id"] == ["org-1"]


def test_sync_button_reports_polar_errors(operator_client, rsps):
    stub = PolarListStub([checkout_payload()]).register(rsps)
    stub.fail_on_page = 1
    stub.fail_status = 401

    response = operator_client.post(reverse(SYNC), follow=True)

    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Sync from Polar stopped: Polar answered 401")


def test_sync_is_post_only_permissioned_and_csrf_protected(operator, viewer_client, rsps):
    stub = PolarListStub().register(rsps)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.get(reverse(SYNC)).status_code == 405
    assert client.post(reverse(SYNC)).status_code == 403  # no CSRF token
    assert viewer_client.post(reverse(SYNC)).status_code == 403  # no sync permission
    assert stub.queries == []


# -- against the fake Polar ----------------------------------------------------------------


def test_sync_button_and_refresh_against_the_fake_polar(operator_client, polar_fake):
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

    created = [polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID) for _ in range(2)]
    response = operator_client.post(reverse(SYNC), follow=True)
    assert "Synced from Polar: created 2, updated 0, unchanged 0." in messages_of(response)

    polar_fake.advance_time(polar_fake.checkout_ttl.total_seconds() + 60)
    rows = CheckoutSession.objects.filter(pk__in=[c["id"] for c in created])
    response = _refresh(operator_client, *rows)
    assert "Refreshed 2 checkout sessions from Polar." in messages_of(response)
    assert set(rows.values_list("status", flat=True)) == {"expired"}


@pytest.mark.skipif(django.VERSION < (5, 0), reason="the admin's facets arrived in Django 5.0")
def test_facet_counts_are_never_computed(viewer_client):
    recent()
    with CaptureQueriesContext(connection) as plain:
        viewer_client.get(reverse(CHANGELIST))
    with CaptureQueriesContext(connection) as facets:
        viewer_client.get(reverse(CHANGELIST), {"_facets": "1"})
    assert len(facets.captured_queries) == len(plain.captured_queries)


def test_detail_refresh_button(operator_client, viewer_client, rsps):
    checkout = store()
    refresh = reverse("admin:polar_checkouts_checkoutsession_refresh", args=[checkout.pk])
    assert refresh in operator_client.get(change_url(checkout)).content.decode()
    assert refresh not in viewer_client.get(change_url(checkout)).content.decode()
    assert viewer_client.post(refresh).status_code == 403
    assert operator_client.get(refresh).status_code == 405

    rsps.get(
        CHECKOUTS_URL + str(checkout.pk),
        json=checkout_payload(str(checkout.pk), status="succeeded", modified_at=timezone.now()),
    )
    response = operator_client.post(refresh, follow=True)
    assert response.redirect_chain[-1][0] == change_url(checkout)
    assert "Refreshed from Polar." in messages_of(response)
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "succeeded"

    rsps.replace("GET", CHECKOUTS_URL + str(checkout.pk), json={"detail": "Boom"}, status=500)
    response = operator_client.post(refresh, follow=True)
    assert response.status_code == 200
    assert any("Could not refresh" in m for m in messages_of(response))


def test_empty_detail_fields_show_the_empty_value_not_none(viewer_client):
    # No customer, no amounts, no secret, no orders or subscriptions yet.
    checkout = store(customer_id=None, amount=None, tax_amount=None, client_secret=None)
    page = viewer_client.get(change_url(checkout)).content.decode()
    values = re.findall(r'<div class="readonly">(.*?)</div>', page, flags=re.S)
    assert values.count("-") >= 6
    assert "None" not in values
    assert not any("—" in value for value in values)
