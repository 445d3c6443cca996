"""Run by test_polar_sdk_seed.py in a subprocess with polar-sdk 0.10.0 first on sys.path.

Not a test module (pytest does not collect it): polar-sdk 0.10.0 cannot share the test
venv with 1.0.2 (both install ``polar_sdk``'s dependencies at other versions). Prints one
JSON object of what the seed's SDK saw; the test asserts on it.

    python seed_sdk_script.py SDK_DIR BASE_URL PRODUCT_ONE_TIME PRODUCT_FREE PRICE_ONE_TIME TOKEN
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any


def main(base_url: str, one_time: str, free: str, price: str, token: str) -> dict[str, Any]:
    import polar_sdk
    from polar_sdk import Polar, models

    out: dict[str, Any] = {"sdk": polar_sdk.__file__}
    sent_versions: list[str | None] = []
    polar = Polar(access_token="polar_oat_seed", server_url=base_url)
    polar.sdk_configuration.client.event_hooks["request"].append(
        lambda request: sent_versions.append(request.headers.get("polar-version"))
    )

    products = polar.products.list(limit=100)
    assert products is not None
    out["products"] = sorted(p.id for p in products.result.items)
    out["product_get"] = polar.products.get(id=one_time).id

    custom = polar.checkouts.custom
    paid = custom.create(request={"product_id": one_time, "payment_processor": "stripe"})
    out["paid_created"] = [paid.status, paid.amount, paid.product_id]
    public = custom.client_get(client_secret=paid.client_secret)
    out["client_get"] = public.id == paid.id
    updated = custom.client_update(
        client_secret=paid.client_secret,
        checkout_update_public={
            "customer_name": "Ada",
            "customer_billing_address": {"country": "DE"},
        },
    )
    out["tax_amount"] = updated.tax_amount
    confirmed = custom.client_confirm(
        client_secret=paid.client_secret,
        checkout_confirm_stripe={
            "customer_email": "ada@example.com",
            "confirmation_token_id": token,
        },
    )
    out["confirmed_token"] = (confirmed.customer_session_token or "")[:10]
    out["paid_status"] = custom.get(id=paid.id).status

    by_price = custom.create(request={"product_price_id": price, "payment_processor": "stripe"})
    out["by_price"] = by_price.product_id

    free_checkout = custom.create(request={"product_id": free, "payment_processor": "stripe"})
    out["free_amount"] = [free_checkout.amount, free_checkout.currency]
    free_done = custom.client_confirm(
        client_secret=free_checkout.client_secret,
        checkout_confirm_stripe={"customer_email": "ada@example.com"},
    )
    out["free_status"] = free_done.STATUS  # a constant "confirmed" in this SDK

    listed = custom.list(limit=2)
    assert listed is not None
    out["list"] = [listed.result.pagination.total_count, listed.result.pagination.max_page]

    try:
        custom.get(id=str(uuid.uuid4()))
        out["not_found"] = None
    except models.ResourceNotFound as exc:
        out["not_found"] = [type(exc).__name__, exc.data.detail]
    try:
        custom.create(request={"product_id": str(uuid.uuid4()), "payment_processor": "stripe"})
        out["invalid"] = None
    except models.HTTPValidationError as exc:
        out["invalid"] = [list(d.loc) for d in (exc.data.detail or [])]
    out["sent_versions"] = sorted({str(v) for v in sent_versions})
    return out


if __name__ == "__main__":
    # The seed's SDK and its dependencies come before anything of the test venv.
    sys.path.insert(0, sys.argv[1])
    print(json.dumps(main(*sys.argv[2:7])))
