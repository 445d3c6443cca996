"""The fake's customers and customer sessions.

A customer is made when a checkout is confirmed by an e-mail address the organization has
not seen (Polar's ``checkout/service.py``, ``_create_or_update_customer``), with the
checkout's ``external_customer_id`` as its ``external_id``; ``customer.created`` goes out
then. A checkout confirmed by a known customer updates it (a name where it had none, the
billing address, metadata merged) and sends ``customer.updated``: Polar's
``CustomerRepository.update`` sends it on every update of a customer not deleted.

After each ``customer.created``/``customer.updated`` Polar sends ``customer.state_changed``
(``customer/service.py``, ``webhook``), and again whenever a subscription of the
customer is created or changes (``subscription/service.py``: ``_after_subscription_created``,
``_after_subscription_updated``); its data is a ``CustomerState``: the customer with its
active (trialing or active) subscriptions, granted benefits and meters (the fake has
neither benefits nor meters).

A customer session (``POST /v1/customer-sessions/``) names the customer by Polar's id or
by the external id and answers a ``customer_portal_url``: the fake's own portal page
(:mod:`.portal`), signed in by the session's token.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .. import catalogue
from ..messages import NOT_FOUND, FakeResponse, HTTPError, json_response
from ..validation import (
    Errors,
    RequestInvalid,
    has_type,
    list_params,
    parse_body,
    query_bool,
    url_value,
    uuid_value,
)
from .filters import by_ids, query_ids
from .serialise import page_of, sort_items
from .state import CheckoutState, JsonDict, isoformat, new_token

if TYPE_CHECKING:
    from .core import FakePolar

CUSTOMER_SORTS = ("created_at", "-created_at", "email", "-email", "name", "-name")
#: ``GET /v1/customers/``'s id filters: query parameter -> the customer's field
#: (:mod:`.filters`).
CUSTOMER_FILTERS = {"organization_id": "organization_id"}
#: How long a customer session lasts (Polar: ``CUSTOMER_SESSION_TTL``, one hour).
SESSION_TTL = timedelta(hours=1)
#: Keys of the stored customer that are not Polar's ``Customer`` JSON.
PRIVATE_KEYS = ("stripe_id",)
#: The statuses that make a customer "active" (Polar: trialing, active or past_due).
ACTIVE_STATUSES = ("trialing", "active", "past_due")
#: The subscriptions a ``CustomerState`` lists (Polar's ``SubscriptionStatus.active_statuses``).
STATE_STATUSES = ("trialing", "active")
#: The keys of Polar's ``CustomerStateSubscription`` taken from the stored subscription.
STATE_SUBSCRIPTION_KEYS = (
    "id",
    "created_at",
    "modified_at",
    "custom_field_data",
    "metadata",
    "status",
    "amount",
    "currency",
    "recurring_interval",
    "current_period_start",
    "current_period_end",
    "trial_start",
    "trial_end",
    "cancel_at_period_end",
    "canceled_at",
    "started_at",
    "ends_at",
    "product_id",
    "discount_id",
    # Not in the 2026-10 spec's CustomerStateSubscription (which allows more keys), but in
    # Polar's newer schema: polar-sdk 1.x requires them (None: no seats, no units).
    "seats",
    "units",
)


def customer_json(fake: FakePolar, customer_id: str) -> JsonDict:
    """Polar's ``Customer`` (``CustomerIndividual``) of a stored customer."""
    stored = fake.customers[customer_id]
    return {k: v for k, v in stored.items() if k not in PRIVATE_KEYS} | {
        "metadata": dict(stored["metadata"]),
        "billing_address": dict(stored["billing_address"]) if stored["billing_address"] else None,
    }


def state_json(fake: FakePolar, customer_id: str) -> JsonDict:
    """Polar's ``CustomerState`` (``CustomerStateIndividual``) of a stored customer."""
    active = [
        {key: copy.deepcopy(s[key]) for key in STATE_SUBSCRIPTION_KEYS} | {"meters": []}
        for s in fake.subscriptions.values()
        if s["customer_id"] == customer_id and s["status"] in STATE_STATUSES
    ]
    return customer_json(fake, customer_id) | {
        "active_subscriptions": active,
        "granted_benefits": [],
        "active_meters": [],
    }


def state_changed(fake: FakePolar, customer_id: str) -> None:
    """``customer.state_changed`` with the customer's state now."""
    fake.emit("customer.state_changed", state_json(fake, customer_id))


def _update_from_checkout(fake: FakePolar, customer: JsonDict, work: CheckoutState) -> None:
    """What a confirmed checkout changes on a known customer (Polar's
    ``_create_or_update_customer``): a name only where it had none (the checkout's may be a
    cardholder's), the billing address when given, the checkout's customer metadata merged
    over the customer's. ``customer.updated`` follows, as on every update in Polar.
    (Polar also copies the tax id and locale; the fake keeps the customer's.)"""
    if customer["name"] is None and work.customer_name is not None:
        customer["name"] = work.customer_name
    if work.customer_billing_address is not None:
        customer["billing_address"] = dict(work.customer_billing_address)
    customer["metadata"] = {**customer["metadata"], **work.customer_metadata}
    touch(fake, customer)
    fake.emit("customer.updated", customer_json(fake, customer["id"]))
    state_changed(fake, customer["id"])


def find_by_email(fake: FakePolar, email: str | None) -> JsonDict | None:
    """The customer of an e-mail address (case-insensitive), if any."""
    wanted = (email or "").lower()
    return next((c for c in fake.customers.values() if (c["email"] or "").lower() == wanted), None)


def find_by_external_id(fake: FakePolar, external_id: str) -> JsonDict | None:
    """The customer the shop knows as ``external_id``, if any."""
    return next((c for c in fake.customers.values() if c["external_id"] == external_id), None)


def customer_for(fake: FakePolar, work: CheckoutState) -> JsonDict:
    """The customer a confirmed checkout pays as: its own or the one of its e-mail address
    (updated: ``customer.updated``), or a new one (``customer.created``) carrying the
    checkout's external customer id; each followed by ``customer.state_changed``."""
    customer = fake.customers.get(work.customer_id or "") or find_by_email(
        fake, work.customer_email
    )
    if customer is None:
        if work.external_customer_id and find_by_external_id(fake, work.external_customer_id):
            # Polar's CheckoutCustomerExternalIdMismatch: the external id is another
            # customer's, and this e-mail address is not theirs.
            raise HTTPError(
                400,
                {
                    "error": "PolarRequestValidationError",
                    "detail": "The external customer ID is already used by another customer.",
                },
            )
        now = isoformat(fake.now())
        customer = {
            "id": str(uuid.uuid4()),
            "created_at": now,
            "modified_at": None,
            "metadata": dict(work.customer_metadata),
            "external_id": work.external_customer_id,
            "email": work.customer_email,
            "email_verified": False,
            "type": "individual",
            "name": work.customer_name,
            "billing_name": work.customer_name,
            "billing_address": work.customer_billing_address,
            "tax_id": None,
            "locale": None,
            "organization_id": catalogue.ORGANIZATION_ID,
            "default_payment_method_id": None,
            "deleted_at": None,
            "first_user_event_at": None,
            "avatar_url": "https://www.gravatar.com/avatar/00000000000000000000000000000000?d=404",
            "stripe_id": "cus_fake" + uuid.uuid4().hex[:14],
        }
        fake.customers[customer["id"]] = customer
        fake.emit("customer.created", customer_json(fake, customer["id"]))
        state_changed(fake, customer["id"])
        return customer
    _update_from_checkout(fake, customer, work)
    return customer


def touch(fake: FakePolar, record: JsonDict) -> None:
    """Stamp ``modified_at`` on a changed customer, order or subscription, always later
    than the one before (so "newer ``modified_at`` wins" never sees a tie)."""
    now = fake.now()
    previous = record["modified_at"] or record["created_at"]
    before = datetime.fromisoformat(previous.replace("Z", "+00:00"))
    record["modified_at"] = isoformat(max(now, before + timedelta(microseconds=1)))


def is_active(fake: FakePolar, customer_id: str) -> bool:
    """Whether the customer has a trialing, active or past-due subscription."""
    return any(
        s["customer_id"] == customer_id and s["status"] in ACTIVE_STATUSES
        for s in fake.subscriptions.values()
    )


def list_customers(
    fake: FakePolar, headers: Any, params: dict[str, list[str]], body: bytes
) -> FakeResponse:
    """``GET /v1/customers/``: organization, exact e-mail, search text, active; pages."""
    errors = Errors()
    wanted = query_ids(errors, params, CUSTOMER_FILTERS)
    active = query_bool(errors, params, "active")
    listing = list_params(errors, params, CUSTOMER_SORTS, "-created_at")
    errors.raise_if_any()
    email = (params.get("email") or [""])[-1].lower()
    items = by_ids(fake, list(fake.customers.values()), CUSTOMER_FILTERS, wanted)
    if email:
        items = [c for c in items if (c["email"] or "").lower() == email]
    if listing.query:
        items = [
            c
            for c in items
            if any(listing.query in (c[k] or "").lower() for k in ("name", "email", "external_id"))
        ]
    if active is not None:
        items = [c for c in items if is_active(fake, c["id"]) == active]
    sort_items(items, listing.sorting, lambda c, name: (c[name] or "").lower())
    page = page_of([customer_json(fake, c["id"]) for c in items], listing.page, listing.limit)
    return json_response(200, page)


def get_customer(fake: FakePolar, customer_id: str) -> FakeResponse:
    """``GET /v1/customers/{id}``."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), customer_id)
    errors.raise_if_any()
    if value not in fake.customers:
        raise HTTPError(404, NOT_FOUND)
    return json_response(200, customer_json(fake, value or ""))


def get_customer_external(fake: FakePolar, external_id: str) -> FakeResponse:
    """``GET /v1/customers/external/{external_id}``."""
    customer = find_by_external_id(fake, external_id)
    if customer is None:
        raise HTTPError(404, NOT_FOUND)
    return json_response(200, customer_json(fake, customer["id"]))


def create_session_op(fake: FakePolar, headers: Any, params: Any, body: bytes) -> FakeResponse:
    """``POST /v1/customer-sessions/``: 201 with the session and its portal URL."""
    return json_response(201, create_session(fake, parse_body(body)))


def create_session(fake: FakePolar, data: JsonDict) -> JsonDict:
    """A customer session for ``data`` (``customer_id`` or ``external_customer_id``, and an
    optional ``return_url``); ``RequestInvalid`` with Polar's 422s."""
    errors = Errors()
    by_id = "customer_id" in data
    key = "customer_id" if by_id else "external_customer_id"
    if key not in data:
        # Neither variant of the union matched: pydantic names both.
        errors.add(
            ("body", "CustomerSessionCustomerIDCreate", "customer_id"),
            "Field required",
            "missing",
            data,
        )
        errors.add(
            ("body", "CustomerSessionCustomerExternalIDCreate", "external_customer_id"),
            "Field required",
            "missing",
            data,
        )
        errors.raise_if_any()
    value: Any = data[key]
    if by_id:
        value = uuid_value(errors, ("body", key), value)
    elif has_type(errors, ("body", key), value, "string"):
        value = str(value)
    return_url = data.get("return_url")
    if return_url is not None:
        return_url = url_value(errors, ("body", "return_url"), return_url)
    errors.raise_if_any()
    customer = fake.customers.get(value or "") if by_id else find_by_external_id(fake, str(value))
    if customer is None:
        raise RequestInvalid(
            [
                {
                    "loc": ["body", key],
                    "msg": "Customer does not exist.",
                    "type": "value_error",
                    "input": value,
                }
            ],
            "PolarRequestValidationError",
        )
    now = fake.now()
    token = new_token("polar_cst_", 43)
    session = {
        "created_at": isoformat(now),
        "modified_at": None,
        "id": str(uuid.uuid4()),
        "token": token,
        "expires_at": isoformat(now + SESSION_TTL),
        "return_url": return_url,
        "customer_id": customer["id"],
    }
    fake.customer_sessions[token] = session
    return session_json(fake, session)


def portal_url(fake: FakePolar, token: str, email: str | None) -> str:
    """Where a session's token signs the customer in: ``/{org slug}/portal?...``."""
    query = urlencode({"customer_session_token": token, "email": email or ""})
    base = fake.portal_url or fake.frontend_url
    return f"{base}/{catalogue.ORGANIZATION_SLUG}/portal?{query}"


def session_json(fake: FakePolar, session: JsonDict) -> JsonDict:
    """Polar's ``CustomerSession``."""
    customer = customer_json(fake, session["customer_id"])
    return {
        **session,
        "customer_portal_url": portal_url(fake, session["token"], customer["email"]),
        "customer": customer,
    }


def session_customer(fake: FakePolar, token: str) -> JsonDict | None:
    """The customer a portal token signs in, while the session lasts; else ``None``."""
    session = fake.customer_sessions.get(token)
    if session is None:
        return None
    expires = session["expires_at"]
    if isoformat(fake.now()) >= expires:
        return None
    return fake.customers.get(session["customer_id"])
