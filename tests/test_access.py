"""Access checks: who may see what, from the cached subscriptions and orders."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory, override_settings
from django.views import View

from polar_checkouts import access, services
from polar_checkouts.access import SubscriptionRequiredMixin, subscription_required
from polar_checkouts.adapter import DefaultAdapter
from tests.polar_objects import (
    OTHER_PRODUCT_ID,
    PRODUCT_ID,
    at,
    customer_payload,
    order_payload,
    subscription_payload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("member")


def subscribe(user, status="active", product_id=PRODUCT_ID, **kwargs):
    customer = customer_payload(external_id=str(user.pk) if user else None)
    payload = subscription_payload(
        str(uuid.uuid4()), customer, status=status, product_id=product_id, **kwargs
    )
    return services.store_subscription(payload).row


def buy(user, status="paid", product_id=PRODUCT_ID, **kwargs):
    customer = customer_payload(external_id=str(user.pk))
    payload = order_payload(
        str(uuid.uuid4()), customer, status=status, product_id=product_id, **kwargs
    )
    return services.store_order(payload).row


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", True),
        ("trialing", True),
        ("past_due", True),
        ("incomplete", False),
        ("incomplete_expired", False),
        ("canceled", False),
        ("unpaid", False),
        ("paused", False),
    ],
)
def test_access_by_subscription_status(member, status, expected):
    subscribe(member, status)
    assert access.has_active_subscription(member) is expected
    assert access.has_active_subscription(member, PRODUCT_ID) is expected
    assert access.has_active_subscription(member, OTHER_PRODUCT_ID) is False
    assert (list(access.active_subscriptions(member)) != []) is expected


def test_cancelled_at_period_end_keeps_access_until_revoked(member):
    subscribe(member, "active", cancel_at_period_end=True, canceled_at=at(1), modified=1)
    assert access.has_active_subscription(member, PRODUCT_ID)


class StrictAdapter(DefaultAdapter):
    def past_due_has_access(self):
        return False


@override_settings(POLAR_ADAPTER="tests.test_access.StrictAdapter")
def test_the_adapter_can_end_access_while_past_due(member):
    subscribe(member, "past_due")
    assert not access.has_active_subscription(member)


def test_anonymous_users_and_none_have_no_access(member, django_assert_num_queries):
    subscribe(member)
    buy(member)
    with django_assert_num_queries(0):
        assert not access.has_active_subscription(AnonymousUser())
        assert not access.has_active_subscription(None, PRODUCT_ID)
        assert not access.has_purchased(AnonymousUser(), PRODUCT_ID)
        assert list(access.active_subscriptions(AnonymousUser())) == []


def test_another_users_subscription_gives_no_access(member, django_user_model):
    other = django_user_model.objects.create_user("other")
    subscribe(other)
    subscribe(None)  # a guest's
    assert not access.has_active_subscription(member)


def test_each_check_is_one_query(member, django_assert_num_queries):
    subscribe(member)
    buy(member)
    with django_assert_num_queries(1):
        assert access.has_active_subscription(member)
    with django_assert_num_queries(1):
        assert access.has_active_subscription(member, [PRODUCT_ID, OTHER_PRODUCT_ID])
    with django_assert_num_queries(1):
        assert access.has_purchased(member, PRODUCT_ID)
    with django_assert_num_queries(1):
        assert len(list(access.active_subscriptions(member))) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("paid", True),
        ("partially_refunded", True),
        ("refunded", False),
        ("pending", False),
        ("void", False),
    ],
)
def test_has_purchased_means_paid_and_not_fully_refunded(member, status, expected):
    buy(member, status)
    assert access.has_purchased(member, PRODUCT_ID) is expected
    assert access.has_purchased(member, OTHER_PRODUCT_ID) is False


def test_a_product_id_that_is_not_a_uuid_is_a_clear_error(member):
    with pytest.raises(ValueError, match="UUID"):
        access.has_active_subscription(member, "membership")
    with pytest.raises(ValueError, match="UUID"):
        subscription_required(product_id="membership")


# -- the decorator and the mixin ------------------------------------------------------------------


def members_page(request):
    return HttpResponse("members only")


def request_for(user):
    request = RequestFactory().get("/members/?page=2")
    request.user = user
    return request


def test_the_decorator_lets_subscribers_in(member):
    subscribe(member)
    view = subscription_required(members_page, product_id=PRODUCT_ID)
    assert view(request_for(member)).content == b"members only"


def test_the_decorator_sends_anonymous_users_to_the_login_page():
    view = subscription_required(product_id=PRODUCT_ID)(members_page)
    response = view(request_for(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert response["Location"].endswith("next=/members/%3Fpage%3D2")


def test_the_decorator_redirects_or_refuses_users_without_access(member):
    subscribe(member, product_id=OTHER_PRODUCT_ID)
    redirecting = subscription_required(
        members_page, product_id=PRODUCT_ID, redirect_url="/pricing/"
    )
    response = redirecting(request_for(member))
    assert (response.status_code, response["Location"]) == (302, "/pricing/")
    refusing = subscription_required(members_page, product_id=PRODUCT_ID)
    with pytest.raises(PermissionDenied):
        refusing(request_for(member))


def test_the_decorator_reads_the_cache_on_every_request(member):
    sub = subscribe(member, modified=1)
    view = subscription_required(members_page)
    assert view(request_for(member)).status_code == 200
    revoked = {**sub.payload, "status": "canceled", "modified_at": at(9), "ended_at": at(9)}
    services.store_subscription(revoked)
    with pytest.raises(PermissionDenied):
        view(request_for(member))


class MembersView(SubscriptionRequiredMixin, View):
    subscription_product_id = PRODUCT_ID
    subscription_redirect_url = "/pricing/"

    def get(self, request):
        return HttpResponse("members only")


def test_the_mixin_does_what_the_decorator_does(member):
    view = MembersView.as_view()
    assert view(request_for(AnonymousUser())).status_code == 302
    assert view(request_for(member))["Location"] == "/pricing/"
    subscribe(member)
    response = view(request_for(member))
    assert isinstance(response, HttpResponse)
    assert response.content == b"members only"


# -- templates ---------------------------------------------------------------------------------


def render(text, **context):
    return Template("{% load polar_checkouts %}" + text).render(Context(context)).strip()


def test_template_filters(member):
    source = (
        "{% if user|has_active_subscription %}sub{% endif %}"
        '{% if user|has_active_subscription:"' + PRODUCT_ID + '" %}-this{% endif %}'
        '{% if user|has_active_subscription:"' + OTHER_PRODUCT_ID + '" %}-other{% endif %}'
        '{% if user|has_purchased:"' + PRODUCT_ID + '" %}-bought{% endif %}'
    )
    assert render(source, user=member) == ""
    subscribe(member)
    assert render(source, user=member) == "sub-this"
    buy(member)
    assert render(source, user=member) == "sub-this-bought"
    assert render(source, user=AnonymousUser()) == ""


def test_template_tag_lists_the_active_subscriptions(member):
    subscribe(member)
    text = render(
        "{% polar_active_subscriptions user as subs %}"
        "{% for s in subs %}{{ s.product_name }}{% endfor %}",
        user=member,
    )
    assert text == "Monthly membership"


def test_a_template_with_a_wrong_product_id_fails_clearly(member):
    with pytest.raises(TemplateSyntaxError, match="UUID"):
        render('{% if user|has_purchased:"membership" %}x{% endif %}', user=member)
