"""Rebuild the trimmed Polar OpenAPI files in this folder from the full specs.

Usage: python tests/data/trim_polar_specs.py [/path/to/shared/polar]

Keeps the checkout and product paths, the webhooks (the seed-era three, or every one a
dated spec declares), and every component schema they reference (transitively), so each
``$ref`` still resolves.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = re.compile(r'"#/components/schemas/([^"]+)"')

#: The paths of the seed era (``/custom/``) and of the dated specs.
DATED_PATHS = (
    "/v1/checkouts/",
    "/v1/checkouts/{id}",
    "/v1/checkouts/client/{client_secret}",
    "/v1/checkouts/client/{client_secret}/confirm",
    "/v1/products/",
    "/v1/products/{id}",
)
PATHS = (
    "/v1/checkouts/custom/",
    "/v1/checkouts/custom/{id}",
    "/v1/checkouts/custom/client/{client_secret}",
    "/v1/checkouts/custom/client/{client_secret}/confirm",
    "/v1/products/",
    "/v1/products/{id}",
)
WEBHOOKS = ("checkout.created", "checkout.updated", "order.created")
EXTRA = ("Unauthorized", "Order", "Checkout", "CheckoutPublic", "CheckoutPublicConfirmed")
ERRORS_ONLY = ("NotOpenCheckout", "ExpiredCheckoutError", "PaymentError", "Unauthorized")
#: What comes after a checkout (kind "customers"): the read routes of orders, subscriptions
#: and customers, and the customer session the portal needs; only these methods are kept.
CUSTOMER_OPERATIONS = {
    "/v1/orders/": ("get",),
    "/v1/orders/{id}": ("get",),
    "/v1/subscriptions/": ("get",),
    "/v1/subscriptions/{id}": ("get",),
    "/v1/customers/": ("get",),
    "/v1/customers/{id}": ("get",),
    "/v1/customers/external/{external_id}": ("get",),
    "/v1/customer-sessions/": ("post",),
}

#: target file: (source file, kind). "seed": the checkout and product paths with the
#: seed-era webhooks; "errors": error schemas only; "dated": a dated (Polar-Version)
#: spec, with its checkout and product paths and every webhook it declares; "customers":
#: the order, subscription, customer and customer-session routes of CUSTOMER_OPERATIONS.
SOURCES = {
    "polar-openapi-2024-12-seed-era.json": ("openapi-2024-12-seed-era.json", "seed"),
    "polar-openapi-2025-02-last-custom.json": ("openapi.json", "seed"),
    "polar-openapi-2026-04-errors.json": ("openapi-2026-04-successor.json", "errors"),
    "polar-openapi-2026-04.json": ("openapi-2026-04-successor.json", "dated"),
    "polar-openapi-2026-10.json": ("openapi-2026-10.json", "dated"),
    "polar-openapi-2026-10-customers.json": ("openapi-2026-10.json", "customers"),
}


def closure(schemas: dict, roots: list[str]) -> dict:
    keep: dict = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep[name] = schemas[name]
        todo.extend(REF.findall(json.dumps(schemas[name])))
    return dict(sorted(keep.items()))


def trim(spec: dict, kind: str) -> dict:
    schemas = spec["components"]["schemas"]
    if kind == "errors":
        return {
            "openapi": spec["openapi"],
            "info": spec["info"],
            "paths": {},
            "components": {"schemas": closure(schemas, list(ERRORS_ONLY))},
        }
    if kind == "customers":
        kept = {
            path: {
                key: value
                for key, value in spec["paths"][path].items()
                if key not in ("get", "post", "patch", "put", "delete") or key in methods
            }
            for path, methods in CUSTOMER_OPERATIONS.items()
        }
        roots = [
            *REF.findall(json.dumps(kept)),
            "Order",
            "Subscription",
            "Customer",
            "Unauthorized",
        ]
        return {
            "openapi": spec["openapi"],
            "info": spec["info"],
            "paths": kept,
            "components": {"schemas": closure(schemas, roots)},
        }
    paths = {
        p: spec["paths"][p]
        for p in (DATED_PATHS if kind == "dated" else PATHS)
        if p in spec["paths"]
    }
    wanted = spec.get("webhooks", {}) if kind == "dated" else WEBHOOKS
    webhooks = {w: spec["webhooks"][w] for w in wanted if w in spec.get("webhooks", {})}
    roots = REF.findall(json.dumps(paths)) + REF.findall(json.dumps(webhooks)) + list(EXTRA)
    out = {"openapi": spec["openapi"], "info": spec["info"], "paths": paths}
    if webhooks:
        out["webhooks"] = webhooks
    out["components"] = {"schemas": closure(schemas, roots)}
    return out


def main(source_dir: str) -> None:
    for target, (source, kind) in SOURCES.items():
        spec = json.loads((Path(source_dir) / source).read_text())
        text = json.dumps(trim(spec, kind), indent=1, sort_keys=False) + "\n"
        (HERE / target).write_text(text)
        print(target, len(text))


if __name__ == "__main__":
    # shared/polar sits beside the repository checkout.
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[2] / "shared" / "polar"))
