"""The shop's own pages: the catalogue, the buyer's purchases and downloads, and a
members-only page gated by the monthly membership (all read from the local cache that
Polar's webhooks keep current; only the catalogue and "Refresh from Polar" call Polar)."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from polar_checkouts import services
from polar_checkouts.access import has_active_subscription, has_purchased, subscription_required
from polar_checkouts.adapter import get_adapter
from polar_checkouts.exceptions import PolarError
from polar_checkouts.models import Order, OrderBillingReason, Subscription

logger = logging.getLogger(__name__)

#: The membership product: the fake Polar's "Pro Membership" unless .env names another.
MEMBERSHIP = settings.SHOP_MEMBERSHIP_PRODUCT_ID


def home(request: HttpRequest) -> HttpResponse:
    """List the products (cached briefly by the service layer) with a buy button each."""
    try:
        products = services.list_products()
        error = None
    except PolarError as exc:
        logger.warning("Catalogue unavailable: %s", exc)
        products, error = [], "The catalogue cannot be loaded right now. Please try again soon."
    recent = []
    if request.user.is_authenticated:
        recent = list(request.user.polar_checkout_sessions.all()[:5])
    return render(
        request,
        "shop/home.html",
        {
            "products": products,
            "error": error,
            "recent_checkouts": recent,
            # The fake Polar has no hosted checkout page to send customers to.
            "hosted_checkout": settings.POLAR_SERVER != "fake",
        },
    )


@login_required
def purchases(request: HttpRequest) -> HttpResponse:
    """Your purchases: one-time products (with a download while paid and not refunded),
    subscriptions, and a link to Polar's customer portal to manage them."""
    orders = Order.objects.for_user(request.user).order_by("-created_at")
    one_time = [o for o in orders if o.billing_reason == OrderBillingReason.PURCHASE]
    payments = [o for o in orders if o.billing_reason != OrderBillingReason.PURCHASE]
    subscriptions = list(Subscription.objects.for_user(request.user).order_by("-created_at"))
    return render(
        request,
        "shop/purchases.html",
        {
            "one_time": one_time,
            "payments": payments,
            "subscriptions": subscriptions,
            "is_member": has_active_subscription(request.user, MEMBERSHIP) if MEMBERSHIP else False,
            "fake_polar": settings.POLAR_SERVER == "fake",
        },
    )


@login_required
def download(request: HttpRequest, product_id: str) -> HttpResponse:
    """The file of a one-time product, for buyers whose order is paid and not refunded."""
    try:
        allowed = has_purchased(request.user, product_id)
    except ValueError:
        raise Http404("No such product") from None
    if not allowed:
        messages.error(request, "Buy this product first: there is no paid order for it.")
        return redirect("purchases")
    order = Order.objects.for_user(request.user).for_product(product_id).purchased().first()
    name = order.product_name if order else "your purchase"
    # A real shop would serve the file from storage; the demo writes a small text file.
    body = f"Thank you for buying {name}.\nThis is the file you paid for.\n"
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{product_id}.txt"'
    return response


def join(request: HttpRequest) -> HttpResponse:
    """The membership's sales page: what members get, and the buy button."""
    member = bool(MEMBERSHIP) and has_active_subscription(request.user, MEMBERSHIP)
    return render(request, "shop/join.html", {"membership": MEMBERSHIP, "is_member": member})


@login_required
@subscription_required(product_id=MEMBERSHIP or None, redirect_url="join")
def members(request: HttpRequest) -> HttpResponse:
    """Members only: an active (or trialing) membership, cancelled ones until they end."""
    subscription = (
        Subscription.objects.for_user(request.user)
        .for_product(MEMBERSHIP)
        .active()
        .order_by("-created_at")
        .first()
    )
    return render(request, "shop/members.html", {"subscription": subscription})


@login_required
@require_POST
def refresh_purchases(request: HttpRequest) -> HttpResponse:
    """Read the user's orders and subscriptions from Polar again (webhooks may lag)."""
    external_id = get_adapter().external_customer_id(request.user)
    try:
        services.sync_subscriptions(external_customer_id=external_id)
        services.sync_orders(external_customer_id=external_id)
    except PolarError as exc:
        logger.warning("Refreshing purchases from Polar failed: %s", exc)
        messages.error(request, "Polar cannot be reached right now. Please try again soon.")
    else:
        messages.success(request, "Your purchases are up to date.")
    return redirect("purchases")


@login_required
@require_POST
def fake_clock(request: HttpRequest) -> HttpResponse:
    """Demo only (the fake Polar): move its clock forward, so renewals happen and a
    subscription cancelled at the period's end ends; its webhooks tell the shop."""
    if settings.POLAR_SERVER != "fake":
        raise Http404("Only the fake Polar has a clock to move.")
    from polar_checkouts.testing import get_default_fake

    try:
        days = max(1, min(int(request.POST.get("days", "31")), 400))
    except ValueError:
        days = 31
    get_default_fake().advance_time(days * 24 * 3600)
    messages.info(request, f"The fake Polar's clock moved {days} days forward.")
    return redirect("purchases")
