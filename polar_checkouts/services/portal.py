"""The customer portal: a Polar customer session for a signed-in user.

Polar's customer portal (subscriptions, orders, invoices, payment methods, cancellation)
is reached through a short-lived customer session; :func:`customer_portal_url` opens one
for a Django user, named by the adapter's ``external_customer_id(user)``.
"""

from __future__ import annotations

from typing import Any

from ..adapter import get_adapter
from ..client import get_client
from ..exceptions import NotFoundError, PolarValidationError


class NoPolarCustomer(Exception):
    """The user has no customer on Polar yet (nothing bought), or no external id."""


def customer_portal_url(user: Any, return_url: str | None = None) -> str:
    """The ``customer_portal_url`` of a new customer session for ``user``: Polar's portal,
    signed in, with a back link to ``return_url`` (absolute). Raises
    :class:`NoPolarCustomer` when Polar knows no customer for the user, and
    :class:`~polar_checkouts.exceptions.PolarError` when Polar cannot be reached."""
    external_id = get_adapter().external_customer_id(user) if user.is_authenticated else None
    if not external_id:
        raise NoPolarCustomer("This user has no external customer id.")
    try:
        session = get_client().create_customer_session(
            external_customer_id=external_id, return_url=return_url
        )
    except (PolarValidationError, NotFoundError) as exc:
        # Polar's 422 for an external id it does not know: "Customer does not exist."
        if isinstance(exc, NotFoundError) or _unknown_customer(exc):
            raise NoPolarCustomer(f"Polar has no customer {external_id!r}.") from exc
        raise
    return str(session["customer_portal_url"])


def _unknown_customer(error: PolarValidationError) -> bool:
    return "external_customer_id" in error.field_errors()
