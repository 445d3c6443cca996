"""The read-only checkout admin: list, search, filters, detail, actions, sync, overview."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import django
import pytest
import responses
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from polar_checkouts.admin.base import EstimatedCountPaginator, masked_payload
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import CHECKOUTS_URL, PolarListStub, checkout_payload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:polar_checkouts_checkoutsession_changelist"
SYNC = "admin:polar_checkouts_checkoutsession_sync"
OVERVIEW = "admin:polar_checkouts_checkoutsession_overview"


def change_url(checkout):
    return reverse("admin:polar_checkouts_checkoutsession_change", args=[checkout.pk])


@pytest.fixture
def viewer(make_staff):
    """Staff who may look but not refresh or sync."""
    return make_staff("viewer", "view_checkoutsession")


@pytest.fixture
def operator(make_staff):
    """Staff who may also refresh and sync from Polar."""
    return make_staff("operator", "view_checkoutsession", "sync_checkoutsession")


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(operator):
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def store(**kwargs):
    return CheckoutSession.objects.upsert_from_polar(checkout_payload(**kwargs)).checkout


def recent(minutes_ago=0, **kwargs):
    """A checkout created ``minutes_ago`` before now, expiring 30 minutes after that."""
    created = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return store(created_at=created, expires_at=created + dt.timedelta(minutes=30), **kwargs)


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


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


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries.captured_queries), response


def test_changelist_uses_the_same_number_of_queries_for_0_1_and_many_rows(
    operator_client, django_user_model
):
    shopper = django_user_model.objects.create_user("shopper")
    empty, _ = _changelist_queries(operator_client)
    first = recent(user=None)
    CheckoutSession.objects.filter(pk=first.pk).update(user=shopper)
    one, _ = _changelist_queries(operator_client)
    for i in range(40):
        checkout = recent(minutes_ago=i, status=["open", "succeeded", "failed"][i % 3])
        CheckoutSession.objects.filter(pk=checkout.pk).update(user=shopper)
    many, response = _changelist_queries(operator_client)

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


#: (currency, minor units, how staff read it): 2, 2, 0 and 3 decimal places.
TOTALS = [
    ("usd", 1900, "19.00 USD"),
    ("eur", 1250, "12.50 EUR"),
    ("jpy", 500, "500 JPY"),
    ("kwd", 1500, "1.500 KWD"),
]


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
    assert "Expired (open in Polar)" in page
    assert "polar-status-expired" in page


def test_changelist_counts_exactly_without_a_full_count(viewer_client):
    for i in range(3):
        recent(minutes_ago=i)
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(reverse(CHANGELIST), {"status__exact": "open"})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # show_full_result_count = False: only the filtered count, no second COUNT(*) of all rows.
    assert len(counts) == 1


def _listed_ids(response):
    return {str(c.pk) for c in response.context["cl"].result_list}


def test_search_by_email_name_product_and_exact_id(viewer_client):
    ada = recent(customer_email="ada@example.com", customer_name="Ada")
    grace = recent(customer_email="grace@navy.mil", customer_name="Grace Hopper")
    other = recent(product={"id": str(uuid.uuid4()), "name": "Sticker pack"})

    def search(term):
        return _listed_ids(viewer_client.get(reverse(CHANGELIST), {"q": term}))

    assert search("navy.mil") == {str(grace.pk)}
    assert search("hopper") == {str(grace.pk)}
    assert search("sticker") == {str(other.pk)}
    assert search(str(ada.pk)) == {str(ada.pk)}
    assert search(str(uuid.uuid4())) == set()
    assert search("not-a-uuid-%") == set()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "succeeded"}, {"paid"}),
        ({"expired": "yes"}, {"stale_open", "expired"}),
        ({"expired": "no"}, {"live", "paid", "yen"}),
        ({"currency": "jpy"}, {"yen"}),
        ({"product_name": "Sticker pack"}, {"yen"}),
    ],
)
def test_filters(viewer_client, params, expected):
    rows = {
        "live": recent(),
        "stale_open": recent(minutes_ago=60),
        "expired": recent(status="expired"),
        "paid": recent(status="succeeded"),
        "yen": recent(
            currency="jpy",
            total_amount=500,
            product={"id": str(uuid.uuid4()), "name": "Sticker pack"},
        ),
    }
    names = {str(row.pk): name for name, row in rows.items()}
    response = viewer_client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    assert {names[pk] for pk in _listed_ids(response)} == expected


def test_created_date_filter_and_hierarchy(viewer_client):
    old = store(created_at=timezone.now() - dt.timedelta(days=40))
    new = recent()
    # The "Past 7 days" link of the date filter.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since = str(today - dt.timedelta(days=7))
    response = viewer_client.get(reverse(CHANGELIST), {"created_at__gte": since})
    assert _listed_ids(response) == {str(new.pk)}
    year = old.created_at.year
    response = viewer_client.get(
        reverse(CHANGELIST),
        {"created_at__year": year, "created_at__month": old.created_at.month},
    )
    assert str(old.pk) in _listed_ids(response)


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
    assert "POLAR_ORGANIZATION_SLUG" in page

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


def test_masked_payload():
    secret = "polar_c_abcdef"
    masked = masked_payload(
        {
            "client_secret": secret,
            "url": f"https://polar.sh/checkout/{secret}",
            "nested": [{"customer_session_token": "polar_cst_x"}],
            "amount": 5,
        }
    )
    assert masked == {
        "client_secret": "polar_c_…****",
        "url": "https://polar.sh/checkout/polar_c_…****",
        "nested": [{"customer_session_token": "****"}],
        "amount": 5,
    }


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


# -- the overview page ---------------------------------------------------------------------


def test_overview_numbers_and_chart(viewer_client):
    recent(status="succeeded", total_amount=1900)
    recent(status="succeeded", total_amount=1900)
    recent(status="succeeded", currency="jpy", total_amount=500)
    recent(status="failed")
    recent()
    recent(minutes_ago=60)  # open but past expiry: counted as expired
    recent(status="succeeded", total_amount=None, currency=None, amount=None)  # free
    store(status="succeeded", created_at=timezone.now() - dt.timedelta(days=45))  # too old

    response = viewer_client.get(reverse(OVERVIEW))

    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.created == 7
    assert overview.succeeded == 4
    assert overview.totals["expired"] == 1
    assert overview.totals["open"] == 1
    assert response.context["conversion"] == "57.1 %"
    assert [(r.currency, r.amount, r.checkouts) for r in overview.revenue] == [
        ("JPY", "500 JPY", 1),
        ("USD", "38.00 USD", 2),
    ]
    page = response.content.decode()
    assert "<svg" in page
    assert '<title id="polar-chart-title">Checkout sessions per day by status' in page
    assert f"{timezone.localdate().isoformat()}: 4 succeeded" in page
    assert "38.00 USD" in page
    assert "57.1 %" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert len(overview.days) == 30


def test_overview_revenue_in_usd_eur_jpy_and_kwd(viewer_client):
    for currency, minor, _text in TOTALS:
        recent(status="succeeded", currency=currency, total_amount=minor)
    recent(status="succeeded", currency="usd", total_amount=1900)
    recent(status="succeeded", currency="jpy", total_amount=500)
    recent(status="succeeded", currency="kwd", total_amount=2)
    recent(status="failed", currency="kwd", total_amount=999_999)  # not revenue

    response = viewer_client.get(reverse(OVERVIEW))

    revenue = [(r.currency, r.amount, r.checkouts) for r in response.context["overview"].revenue]
    assert revenue == [
        ("EUR", "12.50 EUR", 1),
        ("JPY", "1000 JPY", 2),
        ("KWD", "1.502 KWD", 2),
        ("USD", "38.00 USD", 2),
    ]
    page = response.content.decode()
    for _currency, amount, _n in revenue:
        assert f'<span class="value polar-revenue">{amount}</span>' in page


def test_overview_with_no_checkouts(viewer_client):
    response = viewer_client.get(reverse(OVERVIEW))
    assert response.status_code == 200
    assert response.context["conversion"] == "—"
    assert "no revenue yet" in response.content.decode()


def test_overview_uses_a_constant_number_of_queries(viewer_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(reverse(OVERVIEW)).status_code == 200
        return len(captured.captured_queries)

    empty = queries()
    for i in range(25):
        recent(minutes_ago=i * 90, status=["open", "succeeded", "failed", "expired"][i % 4])
    assert queries() == empty


# -- pagination on large tables ------------------------------------------------------------


def test_paginator_counts_exactly_on_sqlite_and_filtered_lists():
    for _ in range(3):
        store()
    assert EstimatedCountPaginator(CheckoutSession.objects.all(), 50).count == 3
    assert EstimatedCountPaginator(CheckoutSession.objects.filter(status="open"), 50).count == 3


@pytest.mark.postgres
def test_paginator_uses_postgres_estimate_for_large_unfiltered_tables(monkeypatch):
    for _ in range(5):
        store()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE polar_checkouts_checkoutsession")
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 1)

    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(CheckoutSession.objects.order_by("-created_at"), 50).count
    assert count == 5
    assert len(queries.captured_queries) == 1
    assert "reltuples" in queries.captured_queries[0]["sql"]

    with CaptureQueriesContext(connection) as queries:
        EstimatedCountPaginator(CheckoutSession.objects.filter(status="open"), 50).count  # noqa: B018
    assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.postgres
def test_small_and_large_tables_cost_the_same_one_count_query(monkeypatch):
    for _ in range(3):
        store()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE polar_checkouts_checkoutsession")
    store()  # the estimate (3) is now stale: below the threshold the count must be exact

    def one_count(threshold):
        monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", threshold)
        with CaptureQueriesContext(connection) as queries:
            count = EstimatedCountPaginator(CheckoutSession.objects.all(), 50).count
        return count, len(queries.captured_queries)

    assert one_count(50_000) == (4, 1)  # small table: exact, in the same single query
    assert one_count(1) == (3, 1)  # large table: the planner's estimate


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


# -- cheap sidebar and date hierarchy on large tables -----------------------------------


def test_distinct_values_skip_scan():
    from polar_checkouts.admin.filters import distinct_values

    for currency in ["usd", "eur", "usd", "jpy", "eur"]:
        store(currency=currency)
    store(currency=None)  # free: no currency, not a choice
    queryset = CheckoutSession.objects.all()
    assert distinct_values(queryset, "currency", 100) == ["eur", "jpy", "usd"]
    assert distinct_values(queryset, "currency", 2) == ["eur", "jpy"]


def test_sidebar_and_hierarchy_never_select_distinct_over_the_table(viewer_client):
    store(created_at=dt.datetime(2024, 3, 5, tzinfo=dt.timezone.utc), currency="eur")
    store(created_at=dt.datetime(2026, 7, 9, tzinfo=dt.timezone.utc))
    with CaptureQueriesContext(connection) as queries:
        page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert ">EUR<" in page
    assert ">USD<" in page
    # Every year between the first and the last checkout, even one without any.
    for year in ("2024", "2025", "2026"):
        assert f"?created_at__year={year}" in page


def test_date_hierarchy_drills_down(viewer_client):
    store(created_at=dt.datetime(2026, 3, 5, 10, tzinfo=dt.timezone.utc))
    store(created_at=dt.datetime(2026, 5, 20, 10, tzinfo=dt.timezone.utc))

    page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    # One year only: Django's behaviour, start at the months of that year.
    assert "created_at__month=3" in page
    assert "created_at__month=5" in page
    assert "created_at__month=6" not in page
    assert "All dates" in page

    page = viewer_client.get(
        reverse(CHANGELIST), {"created_at__year": "2026", "created_at__month": "5"}
    ).content.decode()
    assert "created_at__day=20" in page
    assert "created_at__day=21" not in page

    response = viewer_client.get(
        reverse(CHANGELIST),
        {"created_at__year": "2026", "created_at__month": "5", "created_at__day": "20"},
    )
    assert response.status_code == 200
    assert "May 20" in response.content.decode()
    assert len(response.context["cl"].result_list) == 1
