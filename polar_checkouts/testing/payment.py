"""The fake Polar's payment provider: a test-payment selector instead of Stripe's form.

Listed first in ``POLAR_PAYMENT_PROVIDERS``'s default when ``POLAR_SERVER = "fake"``.
Its template (``polar_checkouts/payment/fake.html``) and script
(``polar_checkouts/testing/fake-payment.js``) ship with this app
(``polar_checkouts.testing`` in ``INSTALLED_APPS``). The buyer picks one of the fake's
test confirmation tokens; a "3-D Secure" step is completed through the fake's own
``_fake/actions/<secret>/complete`` route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import polar_settings
from ..storefront.context import browser_api_root
from ..storefront.payment import PaymentProvider, publishable_key
from .catalogue import TOKEN_DECLINED, TOKEN_FAILED, TOKEN_REQUIRES_ACTION, TOKEN_SUCCEEDED

#: The fake announces publishable keys with this prefix (``catalogue.PUBLISHABLE_KEY``).
FAKE_KEY_PREFIX = "pk_fake_"

#: The fake's test confirmation tokens, as the buyer chooses them.
TEST_TOKENS = (
    (TOKEN_SUCCEEDED, gettext_lazy("Card succeeds")),
    (TOKEN_DECLINED, gettext_lazy("Card is declined")),
    (TOKEN_REQUIRES_ACTION, gettext_lazy("Card asks for authentication (3-D Secure)")),
    (TOKEN_FAILED, gettext_lazy("Payment fails after confirmation")),
)


class FakePaymentProvider(PaymentProvider):
    """Pay with one of the fake Polar's test tokens; no card, no Stripe."""

    name = "fake"
    template_name = "polar_checkouts/payment/fake.html"

    def applies_to(self, checkout: Mapping[str, Any]) -> bool:
        """Every checkout of the in-process fake, and any with the fake's publishable key."""
        return polar_settings.SERVER == "fake" or publishable_key(checkout).startswith(
            FAKE_KEY_PREFIX
        )

    def script_config(self, request: HttpRequest, checkout: Mapping[str, Any]) -> dict[str, Any]:
        """The test tokens, the fake's API root and its "complete the action" URL."""
        # Where the page's client calls go (the transport says, for the in-process fake).
        root = browser_api_root(request)
        secret = checkout.get("client_secret")
        complete = None
        if root is not None and isinstance(secret, str) and secret:
            complete = f"{root.rstrip('/')}/_fake/actions/{quote(secret, safe='')}/complete"
        return {
            "tokens": [{"id": token, "label": str(label)} for token, label in TEST_TOKENS],
            "apiRoot": root,
            "completeActionUrl": complete,
            "strings": {"chooseTestPayment": _("Choose a test payment.")},
        }
