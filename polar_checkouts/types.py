"""Shapes of Polar's JSON objects, for editors and type checkers.

They are ``TypedDict``s with ``total=False``: Polar adds keys over time and made several
of them nullable, so code must treat every key as optional and ignore unknown ones.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, TypedDict

#: A checkout's ``status`` as Polar writes it. The choices with their labels are
#: ``polar_checkouts.models.CheckoutStatus``, the one class of that name.
CheckoutStatusValue = Literal["open", "expired", "confirmed", "succeeded", "failed"]


def __getattr__(name: str) -> Any:
    # This Literal was called CheckoutStatus, like the model's choices; old imports still
    # work, with a warning, so that one name has one meaning.
    if name == "CheckoutStatus":
        warnings.warn(
            "polar_checkouts.types.CheckoutStatus is deprecated and will be removed in 0.3.0: "
            "use polar_checkouts.types.CheckoutStatusValue "
            "(polar_checkouts.models.CheckoutStatus is the choices class).",
            DeprecationWarning,
            stacklevel=2,
        )
        return CheckoutStatusValue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Address(TypedDict, total=False):
    country: str
    line1: str | None
    line2: str | None
    postal_code: str | None
    city: str | None
    state: str | None


class ProductPrice(TypedDict, total=False):
    id: str
    created_at: str
    modified_at: str | None
    is_archived: bool
    product_id: str
    type: Literal["one_time", "recurring"]
    amount_type: Literal["fixed", "custom", "free"]
    price_currency: str
    price_amount: int
    minimum_amount: int | None
    maximum_amount: int | None
    preset_amount: int | None
    recurring_interval: Literal["month", "year"] | None


class Product(TypedDict, total=False):
    id: str
    created_at: str
    modified_at: str | None
    name: str
    description: str | None
    is_recurring: bool
    is_archived: bool
    organization_id: str
    prices: list[ProductPrice]
    benefits: list[dict[str, Any]]
    medias: list[dict[str, Any]]


class Discount(TypedDict, total=False):
    id: str
    name: str
    code: str | None
    type: Literal["fixed", "percentage"]
    duration: Literal["once", "forever", "repeating"]
    amount: int
    currency: str
    basis_points: int
    duration_in_months: int


class _CheckoutBase(TypedDict, total=False):
    id: str
    created_at: str
    modified_at: str | None
    payment_processor: str
    status: CheckoutStatusValue
    client_secret: str
    url: str
    expires_at: str
    success_url: str
    embed_origin: str | None
    amount: int | None
    tax_amount: int | None
    currency: str | None
    subtotal_amount: int | None
    discount_amount: int | None
    net_amount: int | None
    total_amount: int | None
    product_id: str | None
    product_price_id: str | None
    discount_id: str | None
    allow_discount_codes: bool
    is_discount_applicable: bool
    is_free_product_price: bool
    is_payment_required: bool
    is_payment_setup_required: bool
    is_payment_form_required: bool
    customer_id: str | None
    customer_name: str | None
    customer_email: str | None
    customer_ip_address: str | None
    customer_billing_address: Address | None
    customer_tax_id: str | None
    payment_processor_metadata: dict[str, Any]
    product: Product | None
    product_price: ProductPrice | None
    discount: Discount | None
    attached_custom_fields: list[dict[str, Any]] | None
    custom_field_data: dict[str, Any]


class Checkout(_CheckoutBase, total=False):
    """A checkout session as the server-side routes and webhooks return it."""

    metadata: dict[str, str | int | bool]
    subscription_id: str | None


class CheckoutPublic(_CheckoutBase, total=False):
    """A checkout session as the client-secret routes return it (no metadata)."""

    organization: dict[str, Any]


class CheckoutPublicConfirmed(CheckoutPublic, total=False):
    """What ``client_confirm`` returns: status ``confirmed`` and a customer session token."""

    customer_session_token: str


class Pagination(TypedDict):
    total_count: int
    max_page: int


class ProductPriceCreate(TypedDict, total=False):
    """An ad-hoc price in ``CheckoutCreate.prices``; ``amount_type`` says which fields apply."""

    amount_type: Literal["fixed", "custom", "seat_based", "metered_unit"]
    price_currency: str
    price_amount: int
    minimum_amount: int
    maximum_amount: int | None
    preset_amount: int | None
    tax_behavior: str | None


class CheckoutCreate(TypedDict, total=False):
    """Body of ``create``. Dated API versions: ``products`` (the buyer picks one; the first
    is selected) and optional ``prices``. The seed era: exactly one of ``product_id`` /
    ``product_price_id`` (``PolarClient.create`` turns one of ``products`` into it)."""

    products: list[str]
    prices: dict[str, list[ProductPriceCreate]] | None
    product_id: str
    product_price_id: str
    payment_processor: Literal["stripe"]
    metadata: dict[str, str | int | bool]
    custom_field_data: dict[str, Any]
    discount_id: str | None
    allow_discount_codes: bool
    require_billing_address: bool
    amount: int | None
    currency: str | None
    seats: int | None
    min_seats: int | None
    max_seats: int | None
    allow_trial: bool
    trial_interval: Literal["day", "week", "month", "year"] | None
    trial_interval_count: int | None
    customer_id: str | None
    external_customer_id: str | None
    is_business_customer: bool
    customer_name: str | None
    customer_email: str | None
    customer_ip_address: str | None
    customer_billing_name: str | None
    customer_billing_address: Address | None
    customer_tax_id: str | None
    customer_metadata: dict[str, str | int | bool]
    subscription_id: str | None
    success_url: str | None
    return_url: str | None
    embed_origin: str | None
    locale: str | None


class CheckoutBuyerFields(TypedDict, total=False):
    """Fields both ``update`` and ``client_update`` accept: what the buyer fills in."""

    custom_field_data: dict[str, Any] | None
    product_price_id: str | None
    amount: int | None
    customer_name: str | None
    customer_email: str | None
    customer_billing_address: Address | None
    customer_tax_id: str | None


class CheckoutUpdate(CheckoutBuyerFields, total=False):
    """Body of ``update`` (server side); only the keys sent are applied."""

    metadata: dict[str, str | int | bool] | None
    discount_id: str | None
    allow_discount_codes: bool | None
    customer_ip_address: str | None
    success_url: str | None
    embed_origin: str | None


class CheckoutUpdatePublic(CheckoutBuyerFields, total=False):
    """Body of ``client_update``: what a buyer may change."""

    discount_code: str | None


class CheckoutConfirm(CheckoutUpdatePublic, total=False):
    """Body of ``client_confirm``: the public update fields plus the Stripe token."""

    confirmation_token_id: str | None


# -- webhook endpoints and deliveries (Polar's webhooks API; reconciliation) ---------------


class WebhookEndpoint(TypedDict, total=False):
    """Polar's ``WebhookEndpoint``: where Polar sends an organization's events."""

    id: str
    created_at: str
    modified_at: str | None
    url: str
    name: str | None
    format: Literal["raw", "discord", "slack"]
    secret: str
    organization_id: str
    events: list[str]
    enabled: bool


class PolarWebhookEvent(TypedDict, total=False):
    """Polar's ``WebhookEvent``: an event as Polar keeps it for sending (its ``id`` is the
    ``webhook-id`` of every delivery; the app's record of a received one is
    ``models.WebhookEvent``)."""

    id: str
    created_at: str
    modified_at: str | None
    last_http_code: int | None
    succeeded: bool | None
    skipped: bool
    payload: str | None
    type: str
    is_archived: bool


class WebhookDelivery(TypedDict, total=False):
    """Polar's ``WebhookDelivery``: one attempt to send an event to an endpoint."""

    id: str
    created_at: str
    modified_at: str | None
    succeeded: bool
    http_code: int | None
    response: str | None
    webhook_event: PolarWebhookEvent


# -- after the checkout: customers, orders, subscriptions, customer sessions ---------------

#: An order's ``status`` (Polar's ``OrderStatus``).
OrderStatusValue = Literal["draft", "pending", "paid", "refunded", "partially_refunded", "void"]
#: Why an order was made (Polar's ``OrderBillingReason``).
OrderBillingReasonValue = Literal[
    "purchase",
    "subscription_create",
    "subscription_cycle",
    "subscription_update",
    "subscription_meter_cycle",
]
#: A subscription's ``status`` (Polar's ``SubscriptionStatus``).
SubscriptionStatusValue = Literal[
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
]


class Customer(TypedDict, total=False):
    """Polar's ``Customer`` (the ``individual`` or ``team`` variant)."""

    id: str
    created_at: str
    modified_at: str | None
    metadata: dict[str, str | int | float | bool]
    external_id: str | None
    email: str | None
    email_verified: bool
    type: Literal["individual", "team"]
    name: str | None
    billing_name: str | None
    billing_address: Address | None
    tax_id: list[str] | None
    locale: str | None
    organization_id: str
    default_payment_method_id: str | None
    deleted_at: str | None
    first_user_event_at: str | None
    avatar_url: str | None


class OrderItem(TypedDict, total=False):
    """One line of an order (Polar's ``OrderItemSchema``)."""

    id: str
    created_at: str
    modified_at: str | None
    label: str
    amount: int
    tax_amount: int
    proration: bool
    product_price_id: str | None


class _SubscriptionBase(TypedDict, total=False):
    id: str
    created_at: str
    modified_at: str | None
    metadata: dict[str, str | int | float | bool]
    amount: int
    currency: str
    recurring_interval: Literal["day", "week", "month", "year"]
    recurring_interval_count: int
    status: SubscriptionStatusValue
    current_period_start: str
    current_period_end: str
    current_meter_period_start: str | None
    current_meter_period_end: str | None
    trial_start: str | None
    trial_end: str | None
    cancel_at_period_end: bool
    canceled_at: str | None
    started_at: str | None
    ends_at: str | None
    ended_at: str | None
    past_due_at: str | None
    pause_at_period_end: bool
    paused_at: str | None
    resumes_at: str | None
    customer_id: str
    product_id: str
    discount_id: str | None
    checkout_id: str | None
    seats: int | None
    customer_cancellation_reason: str | None
    customer_cancellation_comment: str | None


class Subscription(_SubscriptionBase, total=False):
    """Polar's ``Subscription``, with its customer, product and prices."""

    custom_field_data: dict[str, Any]
    customer: Customer
    product: Product
    discount: Discount | None
    prices: list[ProductPrice]
    meters: list[dict[str, Any]]
    pending_update: dict[str, Any] | None


class Order(TypedDict, total=False):
    """Polar's ``Order``: amounts in minor units, its customer, product and subscription."""

    id: str
    created_at: str
    modified_at: str | None
    status: OrderStatusValue
    paid: bool
    subtotal_amount: int
    discount_amount: int
    net_amount: int
    tax_amount: int
    total_amount: int
    applied_balance_amount: int
    due_amount: int
    refunded_amount: int
    refunded_tax_amount: int
    currency: str
    billing_reason: OrderBillingReasonValue
    billing_name: str | None
    billing_address: Address | None
    invoice_number: str | None
    is_invoice_generated: bool
    receipt_number: str | None
    seats: int | None
    customer_id: str
    product_id: str | None
    discount_id: str | None
    subscription_id: str | None
    checkout_id: str | None
    next_payment_attempt_at: str | None
    metadata: dict[str, str | int | float | bool]
    custom_field_data: dict[str, Any]
    platform_fee_amount: int
    platform_fee_currency: str | None
    customer: Customer
    product: Product | None
    discount: Discount | None
    subscription: _SubscriptionBase | None
    items: list[OrderItem]
    description: str
    refundable_amount: int
    refundable_tax_amount: int


class CustomerSession(TypedDict, total=False):
    """A customer session: ``customer_portal_url`` signs the customer in to Polar's portal."""

    id: str
    created_at: str
    modified_at: str | None
    token: str
    expires_at: str
    return_url: str | None
    customer_portal_url: str
    customer_id: str
    customer: Customer


class CustomerSessionCreate(TypedDict, total=False):
    """Body of ``create_customer_session``: exactly one of the two customer keys."""

    customer_id: str
    external_customer_id: str
    return_url: str | None
