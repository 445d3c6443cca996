"""The fake's checkout operations: Polar's seven checkout routes, as functions of a fake.

Each takes the :class:`~.core.FakePolar` whose lock the caller holds, reads or changes its
state, and returns an answer or raises ``HTTPError`` / ``RequestInvalid``.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import catalogue, dated_create, versions
from ..messages import NOT_FOUND, FakeResponse, HTTPError, error, json_response
from ..validation import (
    CLIENT_UPDATE_FIELDS,
    CONFIRM_FIELDS,
    CREATE_FIELDS,
    MISSING,
    NON_NULLABLE_ON_CREATE,
    UPDATE_FIELDS,
    Errors,
    has_type,
    list_params,
    parse_body,
    parse_fields,
    query_enum,
    uuid_value,
)
from .customers import customer_for, find_by_external_id
from .filters import by_ids, query_ids
from .pricing import default_amount, totals
from .serialise import checkout_json, page_of, price_json, product_json, sort_items
from .state import CheckoutState, JsonDict, new_token
from .trials import update_trial_end

if TYPE_CHECKING:
    from .core import FakePolar

CHECKOUT_SORTS = ("created_at", "-created_at", "expires_at", "-expires_at", "status", "-status")
STATUSES = ("open", "expired", "confirmed", "succeeded", "failed")
#: ``GET /v1/checkouts/``'s id filters: query parameter -> the checkout's field
#: (:mod:`.filters`).
CHECKOUT_FILTERS = {
    "organization_id": "product.organization_id",
    "product_id": "product_id",
    "customer_id": "customer_id",
}
#: The error name of the service's own 422s (schema errors are "RequestValidationError").
BUSINESS_ERROR = "PolarRequestValidationError"


def find_checkout(fake: FakePolar, checkout_id: str) -> CheckoutState:
    """The checkout of a path id: 422 for a malformed id, 404 for an unknown one."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), checkout_id)
    errors.raise_if_any()
    checkout = fake.states.get(value or "")
    if checkout is None:
        raise HTTPError(404, NOT_FOUND)
    return checkout


def find_by_secret(fake: FakePolar, client_secret: str) -> CheckoutState:
    """The checkout of a client secret: 404 if unknown, 410 (or 404) once expired."""
    checkout_id = fake.ids_by_secret.get(client_secret)
    if checkout_id is None:
        raise HTTPError(404, NOT_FOUND)
    checkout = fake.states[checkout_id]
    if checkout.status == "expired":
        if fake.expired_status == 404:
            raise HTTPError(404, NOT_FOUND)
        raise error(
            fake.expired_status, "ExpiredCheckoutError", "This checkout session has expired."
        )
    return checkout


def require_open(checkout: CheckoutState) -> None:
    """403 ``NotOpenCheckout`` unless the checkout is still open."""
    if checkout.status != "open":
        raise error(
            403, "NotOpenCheckout", f"Checkout {checkout.id} is not open: {checkout.status}"
        )


def list_checkouts(
    fake: FakePolar, headers: Any, params: dict[str, list[str]], body: bytes
) -> FakeResponse:
    """``GET /v1/checkouts/``: filters, sorting and pages as Polar applies them."""
    errors = Errors()
    wanted = query_ids(errors, params, CHECKOUT_FILTERS)
    statuses = query_enum(errors, params, "status", STATUSES)
    listing = list_params(errors, params, CHECKOUT_SORTS, "-created_at")
    errors.raise_if_any()
    items = [fake.states[i] for i in fake.creation_order]
    items = by_ids(fake, items, CHECKOUT_FILTERS, wanted, getattr)
    if statuses:
        items = [c for c in items if c.status in statuses]
    if listing.query:
        items = [c for c in items if listing.query in (c.customer_email or "").lower()]
    sort_items(items, listing.sorting, getattr)
    page = page_of([checkout_json(fake, c) for c in items], listing.page, listing.limit)
    return json_response(200, page)


def create_op(fake: FakePolar, headers: Any, params: Any, body: bytes) -> FakeResponse:
    """``POST /v1/checkouts/``: 201 with the new checkout."""
    return json_response(201, create(fake, body, seed_era=versions.active() is None))


def create(fake: FakePolar, body: bytes, *, seed_era: bool = False) -> JsonDict:
    """Create a checkout from a request body; raises ``RequestInvalid`` for Polar's 422s.

    ``seed_era``: the seed's ``/custom/`` create, which knows no ``products`` and
    requires ``payment_processor``.
    """
    data = parse_body(body)
    # Schema first, as FastAPI does: its errors come alone, named RequestValidationError.
    errors = Errors()
    prices: dict[str, Any] | None = None
    if seed_era:
        data = {k: v for k, v in data.items() if k != "products"}
        selection = read_selection(fake, errors, data)
        fields = parse_fields(errors, data, CREATE_FIELDS, non_nullable=NON_NULLABLE_ON_CREATE)
    else:
        # Every field of the dated versions' CheckoutProductsCreate, in the spec's order
        # (``products`` and ``prices`` come last there).
        fields = dated_create.parse_fields(errors, data)
        selection = read_selection(fake, errors, data)
        if selection[0] == "products":
            dated_create.unique_products(errors, selection[2])
        prices = dated_create.prices_value(errors, data.get("prices"))
    processor = data.get("payment_processor", MISSING)
    if seed_era and processor is MISSING:
        errors.add(("body", "payment_processor"), "Field required", "missing", data)
    if processor is not MISSING and processor != "stripe":
        errors.add(
            ("body", "payment_processor"),
            "Input should be 'stripe'",
            "literal_error",
            processor,
            {"expected": "'stripe'"},
        )
    errors.raise_if_any()
    if not seed_era:
        # The model's rules run only on valid fields, and the first that fails is alone.
        dated_create.trial_complete(errors, fields, data)
        errors.raise_if_any()
        dated_create.seats_in_order(errors, fields, data)
        errors.raise_if_any()
    # Then the service's rules: PolarRequestValidationError, again all together.
    currency = fields.get("currency")
    price = selected_price(fake, errors, selection, currency=currency)
    if selection[0] == "products" and selection[1] in fake.products and currency is not None:
        ad_hoc = (prices or {}).get(selection[1])
        offered = (
            [item.get("price_currency", "usd") for item in ad_hoc]
            if ad_hoc
            else product_currencies(fake, selection[1])
        )
        dated_create.currency_available(errors, currency, offered, selection[1])
    if prices:
        dated_create.unset_products(errors, prices, selection[2])
    now = fake.now()
    checkout = CheckoutState(
        id=str(uuid.uuid4()),
        created_at=now,
        expires_at=now + fake.checkout_ttl,
        client_secret=new_token("polar_c_"),
        product_id=price["product_id"] if price else "",
        price_id=price["id"] if price else "",
        amount=default_amount(price) if price else None,
        currency=price.get("price_currency") if price else None,
    )
    checkout.payment_processor_metadata = {"publishable_key": fake.publishable_key}
    checkout.echo = {key: fields[key] for key in dated_create.ECHOED if key in fields}
    offered = selection[2] if selection[0] == "products" else []
    checkout.product_ids = [i for i in offered if i in fake.products] or [checkout.product_id]
    if price is not None:
        apply_fields(fake, errors, checkout, fields, public=False)
    external_id = data.get("external_customer_id")
    # The shop's id for the buyer: the customer made at confirmation carries it.
    if (
        external_id is not None
        and not seed_era
        and has_type(errors, ("body", "external_customer_id"), external_id, "string")
    ):
        checkout.external_customer_id = external_id
        known = find_by_external_id(fake, external_id)
        if known is not None and fields.get("customer_id") is None:
            # Polar: a known external id selects its customer from the start.
            checkout.customer_id = known["id"]
            checkout.customer_email = checkout.customer_email or known["email"]
            checkout.customer_name = checkout.customer_name or known["name"]
    for key in ("customer_id", "subscription_id"):
        value = fields.get(key)
        if value is None:
            continue
        if key == "customer_id" and value in fake.customers:
            checkout.customer_id = value
            customer = fake.customers[value]
            checkout.customer_email = checkout.customer_email or customer["email"]
            checkout.customer_name = checkout.customer_name or customer["name"]
        else:
            what = "Customer" if key == "customer_id" else "Subscription"
            errors.add(("body", key), f"{what} does not exist.", "value_error", value)
    errors.raise_if_any(BUSINESS_ERROR)
    assert price is not None
    success_url = fields.get("success_url")
    checkout.success_url = (
        success_url.replace("{CHECKOUT_ID}", checkout.id) if success_url else None
    )
    update_trial_end(fake, checkout)
    fake.states[checkout.id] = checkout
    fake.ids_by_secret[checkout.client_secret] = checkout.id
    fake.creation_order.append(checkout.id)
    result = checkout_json(fake, checkout)
    fake.emit("checkout.created", result)
    return result


def read_selection(
    fake: FakePolar, errors: Errors, data: JsonDict
) -> tuple[str, str | None, list[str]]:
    """What a create sells: ``("price"|"product"|"products", first id, all ids)``.

    ``products`` (a list of ids) is the only variant documented by today's Polar; the
    checkout offers them all and starts on the first.
    """
    for key, kind in (("product_price_id", "price"), ("product_id", "product")):
        if key in data:
            value = uuid_value(errors, ("body", key), data[key])
            return kind, value, [value] if value else []
    if "products" not in data:
        errors.add(
            ("body", "CheckoutProductCreate", "product_id"), "Field required", "missing", data
        )
        errors.add(
            ("body", "CheckoutPriceCreate", "product_price_id"),
            "Field required",
            "missing",
            data,
        )
        return "product", None, []
    products = data["products"]
    if not isinstance(products, list):
        errors.add(("body", "products"), "Input should be a valid list", "list_type", products)
        return "products", None, []
    if not products:
        errors.add(
            ("body", "products"),
            "List should have at least 1 item after validation, not 0",
            "too_short",
            products,
            {"field_type": "List", "min_length": 1, "actual_length": 0},
        )
        return "products", None, []
    ids = [uuid_value(errors, ("body", "products", i), item) for i, item in enumerate(products)]
    valid = [i for i in ids if i is not None]
    return "products", valid[0] if valid else None, valid


def product_currencies(fake: FakePolar, product_id: str) -> list[str]:
    """The currencies a product's prices are in, as the version being answered shows them."""
    prices = product_json(fake, product_id)["prices"]
    return [p["price_currency"] for p in prices if not p["is_archived"] and "price_currency" in p]


def selected_price(
    fake: FakePolar,
    errors: Errors,
    selection: tuple[str, str | None, list[str]],
    *,
    currency: str | None = None,
) -> JsonDict | None:
    """The price a create sells, or ``None`` after recording why not; with ``currency``,
    the first product's first price in that currency (Polar's price set), if it has one."""
    kind, first, ids = selection
    if kind == "price":
        price = fake.prices.get(first or "")
        loc: tuple[str | int, ...] = ("body", "product_price_id")
        if price is None:
            errors.add(loc, "Price does not exist.", "value_error", first)
        elif price["is_archived"]:
            errors.add(loc, "Price is archived.", "value_error", first)
        else:
            return price
        return None
    found = None
    for index, product_id in enumerate(ids):
        loc = ("body", "product_id") if kind == "product" else ("body", "products", index)
        product = fake.products.get(product_id)
        if product is None:
            errors.add(loc, "Product does not exist.", "value_error", product_id)
        elif product["is_archived"]:
            errors.add(loc, "Product is archived.", "value_error", product_id)
        elif found is None:
            found = product
    if found is None:
        return None
    prices = [fake.prices[i] for i in found["price_ids"] if not fake.prices[i]["is_archived"]]
    if currency is not None:
        shown = {p["id"]: price_json(fake, p["id"]).get("price_currency") for p in prices}
        prices = [p for p in prices if shown[p["id"]] == currency] or prices
    return prices[0] if prices else None


def get(fake: FakePolar, checkout_id: str) -> FakeResponse:
    """``GET /v1/checkouts/{id}``."""
    return json_response(200, checkout_json(fake, find_checkout(fake, checkout_id)))


def edited_copy(
    fake: FakePolar, checkout: CheckoutState, body: bytes, allowed: Any, *, public: bool
) -> tuple[CheckoutState, dict[str, Any]]:
    """``checkout`` with the request's fields applied, as a copy: a 422 (or, for a
    confirm, a declined card) leaves the stored checkout untouched. Shape errors come
    first and alone, then the open check, then the business rules, as Polar does."""
    errors = Errors()
    fields = parse_fields(errors, parse_body(body), allowed)
    errors.raise_if_any()
    require_open(checkout)
    work = copy.deepcopy(checkout)
    apply_fields(fake, errors, work, fields, public=public)
    errors.raise_if_any(BUSINESS_ERROR)
    return work, fields


def update(fake: FakePolar, checkout_id: str, body: bytes) -> FakeResponse:
    """``PATCH /v1/checkouts/{id}``: the server-side update."""
    work, fields = edited_copy(
        fake, find_checkout(fake, checkout_id), body, UPDATE_FIELDS, public=False
    )
    if "success_url" in fields:
        url = fields["success_url"]
        work.success_url = url.replace("{CHECKOUT_ID}", work.id) if url else None
    return json_response(200, commit(fake, work))


def client_get(fake: FakePolar, client_secret: str) -> FakeResponse:
    """``GET /v1/checkouts/client/{secret}``."""
    return json_response(200, checkout_json(fake, find_by_secret(fake, client_secret), public=True))


def client_update(fake: FakePolar, client_secret: str, body: bytes) -> FakeResponse:
    """``PATCH /v1/checkouts/client/{secret}``: what a buyer may change."""
    checkout = find_by_secret(fake, client_secret)
    work, _ = edited_copy(fake, checkout, body, CLIENT_UPDATE_FIELDS, public=True)
    commit(fake, work)
    return json_response(200, checkout_json(fake, work, public=True))


def client_confirm(fake: FakePolar, client_secret: str, body: bytes) -> FakeResponse:
    """``POST /v1/checkouts/client/{secret}/confirm``: pay with a fake confirmation token."""
    checkout = find_by_secret(fake, client_secret)
    work, fields = edited_copy(fake, checkout, body, CONFIRM_FIELDS, public=True)
    # Polar works the trial's end out again at confirmation (before the amounts due).
    update_trial_end(fake, work)
    errors = Errors()
    amounts = totals(fake, work)
    price = fake.prices[work.price_id]
    form_required = amounts["is_payment_form_required"]
    if not work.customer_email:
        errors.add(("body", "customer_email"), "Field is required.", "missing", None)
    if form_required:
        if not work.customer_name:
            errors.add(("body", "customer_name"), "Field is required.", "missing", None)
        if not work.customer_billing_address:
            errors.add(("body", "customer_billing_address"), "Field is required.", "missing", None)
        elif amounts["is_payment_required"] and amounts["tax_amount"] is None:
            errors.add(
                ("body", "customer_billing_address"),
                "Tax cannot be computed for this address: a postal code and a state are required.",
                "value_error",
                work.customer_billing_address,
            )
    if price["amount_type"] == "custom" and work.amount is None:
        errors.add(("body", "amount"), "Amount is required.", "missing", None)
    if price["is_archived"]:
        errors.add(("body", "product_price_id"), "Price is archived.", "value_error", price["id"])
    token = fields.get("confirmation_token_id")
    if form_required and not token:
        errors.add(
            ("body", "confirmation_token_id"),
            "Confirmation token is required.",
            "missing",
            None,
        )
    errors.raise_if_any(BUSINESS_ERROR)
    if form_required and token == catalogue.TOKEN_DECLINED:
        raise error(
            400,
            "PaymentError",
            "The payment failed: Your card was declined. "
            "Please try again with a different payment method.",
        )
    if form_required and token not in catalogue.TOKENS:
        raise error(
            400,
            "PaymentError",
            f"The payment failed: No such confirmation token: {token!r}. The fake Polar "
            f"understands {', '.join(catalogue.TOKENS)}.",
        )
    customer = customer_for(fake, work)
    work.customer_id = customer["id"]
    metadata = dict(work.payment_processor_metadata)
    metadata["customer_id"] = customer["stripe_id"]
    settle_at = fake.now() + timedelta(seconds=fake.success_delay)
    if form_required:
        kind = "pi" if amounts["is_payment_required"] else "seti"
        intent = uuid.uuid4().hex[:24]
        metadata["intent_client_secret"] = f"{kind}_fake{intent}_secret_{uuid.uuid4().hex[:24]}"
        if token == catalogue.TOKEN_REQUIRES_ACTION:
            metadata["intent_status"] = "requires_action"
            work.pending_action = True
        elif token == catalogue.TOKEN_FAILED:
            metadata["intent_status"] = "processing"
            work.settle = ("failed", settle_at)
        else:
            metadata["intent_status"] = "succeeded"
            work.settle = ("succeeded", settle_at)
    else:
        work.settle = ("succeeded", settle_at)
    work.payment_processor_metadata = metadata
    work.status = "confirmed"
    work.customer_session_token = new_token("polar_cst_")
    commit(fake, work)
    result = checkout_json(fake, work, public=True)
    result["customer_session_token"] = work.customer_session_token
    return json_response(200, result)


def complete_action(fake: FakePolar, client_secret: str, succeed: bool) -> JsonDict:
    """Finish (or fail) the "3-D Secure" step of a ``requires_action`` confirmation."""
    checkout_id = fake.ids_by_secret.get(client_secret)
    if checkout_id is None:
        raise HTTPError(404, NOT_FOUND)
    checkout = fake.states[checkout_id]
    if not checkout.pending_action or checkout.status != "confirmed":
        raise error(
            409, "NoPendingAction", f"Checkout {checkout.id} has no payment action to complete."
        )
    checkout.pending_action = False
    checkout.payment_processor_metadata["intent_status"] = (
        "processing" if succeed else "requires_payment_method"
    )
    checkout.settle = (
        "succeeded" if succeed else "failed",
        fake.now() + timedelta(seconds=fake.success_delay),
    )
    return checkout_json(fake, checkout, public=True)


def apply_fields(
    fake: FakePolar, errors: Errors, work: CheckoutState, fields: JsonDict, *, public: bool
) -> None:
    """Apply parsed fields to ``work`` (a copy), recording business-rule errors."""
    if fields.get("product_price_id") is not None:
        price = fake.prices.get(fields["product_price_id"])
        loc = ("body", "product_price_id")
        if price is None:
            errors.add(loc, "Price does not exist.", "value_error", fields["product_price_id"])
        elif price["product_id"] != work.product_id:
            errors.add(loc, "Price does not belong to the product.", "value_error", price["id"])
        elif price["is_archived"]:
            errors.add(loc, "Price is archived.", "value_error", price["id"])
        else:
            work.price_id = price["id"]
            work.amount = default_amount(price)
            work.currency = price.get("price_currency")
    price = fake.prices[work.price_id]
    if fields.get("amount") is not None and price["amount_type"] == "custom":
        amount = fields["amount"]
        minimum, maximum = price.get("minimum_amount"), price.get("maximum_amount")
        if minimum is not None and amount < minimum:
            errors.add(
                ("body", "amount"),
                f"Input should be greater than or equal to {minimum}",
                "greater_than_equal",
                amount,
                {"ge": minimum},
            )
        elif maximum is not None and amount > maximum:
            errors.add(
                ("body", "amount"),
                f"Input should be less than or equal to {maximum}",
                "less_than_equal",
                amount,
                {"le": maximum},
            )
        else:
            work.amount = amount
    for key in ("customer_name", "customer_billing_address", "customer_ip_address"):
        if key in fields:
            setattr(work, key, fields[key])
    if "customer_email" in fields and not (work.customer_id and not public):
        work.customer_email = fields["customer_email"]
    if "customer_tax_id" in fields:
        work.customer_tax_id = fields["customer_tax_id"]
    if work.customer_tax_id and not work.customer_billing_address:
        errors.add(
            ("body", "customer_tax_id"),
            "Country is required to validate tax ID.",
            "value_error",
            work.customer_tax_id,
        )
    if fields.get("custom_field_data"):
        work.custom_field_data = fields["custom_field_data"]
    for key in ("metadata", "customer_metadata"):
        if key in fields:
            setattr(work, key, fields[key] or {})
    if "allow_discount_codes" in fields and fields["allow_discount_codes"] is not None:
        work.allow_discount_codes = fields["allow_discount_codes"]
    if "embed_origin" in fields:
        work.embed_origin = fields["embed_origin"]
    if "discount_id" in fields:
        discount_id = fields["discount_id"]
        if discount_id is None:
            work.discount_id = None
        elif discount_id not in fake.discounts:
            errors.add(
                ("body", "discount_id"), "Discount does not exist.", "value_error", discount_id
            )
        elif price["amount_type"] != "fixed":
            errors.add(
                ("body", "discount_id"),
                "Discount is not applicable to this product price.",
                "value_error",
                discount_id,
            )
        else:
            work.discount_id = discount_id
    if "discount_code" in fields and work.allow_discount_codes:
        code = fields["discount_code"]
        if code is None:
            work.discount_id = None
        else:
            found = next(
                (
                    d
                    for d in fake.discounts.values()
                    if d["code"] and d["code"].upper() == code.upper()
                ),
                None,
            )
            if found is None or price["amount_type"] != "fixed":
                errors.add(
                    ("body", "discount_code"),
                    "This discount code does not exist or is no longer available.",
                    "value_error",
                    code,
                )
            else:
                work.discount_id = found["id"]
    if price["amount_type"] != "fixed":
        # Seed-era Polar applies discounts to fixed prices only.
        work.discount_id = None


def commit(fake: FakePolar, work: CheckoutState) -> JsonDict:
    """Store an edited copy of a checkout, touch it and emit ``checkout.updated``."""
    update_trial_end(fake, work)
    fake.touch(work)
    fake.states[work.id] = work
    result = checkout_json(fake, work)
    fake.emit("checkout.updated", result)
    return result
