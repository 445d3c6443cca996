"""The process-wide fake: the one ``POLAR_SERVER = "fake"`` and the mounted urls serve."""

from __future__ import annotations

import logging
import threading

from .fake import FakePolar

logger = logging.getLogger("polar_checkouts.testing")

_default_lock = threading.Lock()
_default_fake: FakePolar | None = None

#: How the default fake retries a delivery the site did not accept (a non-2xx answer, a
#: refused connection): this many attempts in all, waiting 1, 2, 4… seconds between them.
WEBHOOK_ATTEMPTS = 5
WEBHOOK_BACKOFF = 1.0


def get_default_fake() -> FakePolar:
    """The process-wide fake used by ``POLAR_SERVER = "fake"`` and the mounted urls.

    During a test that uses the ``polar_fake`` fixture, this is the test's fake. Made on
    first use; then it delivers its webhooks as :func:`configure_from_settings` says.
    """
    global _default_fake
    fake = _default_fake
    if fake is None:
        with _default_lock:
            if _default_fake is None:
                created = FakePolar()
                configure_from_settings(created)
                _default_fake = created
            fake = _default_fake
    return fake


def set_default_fake(fake: FakePolar | None) -> FakePolar | None:
    """Replace the process-wide fake (``None``: a new one on next use); returns the old one."""
    global _default_fake
    with _default_lock:
        previous, _default_fake = _default_fake, fake
    return previous


def configure_from_settings(fake: FakePolar) -> bool:
    """Have ``fake`` deliver its webhooks to ``POLAR_FAKE_WEBHOOK_URL``, as Polar would.

    Signed with the first ``POLAR_WEBHOOK_SECRET``, sent by a background thread after the
    call that caused them (never holding up the shopper's request), and retried with a
    growing wait when the site does not answer 2xx. Returns whether deliveries are on;
    off without a URL, and (with a warning) without a secret to sign with.
    """
    from django.conf import settings

    if not settings.configured:
        return False
    from ..conf import polar_settings

    url = polar_settings.fake_webhook_url
    if url is None:
        return False
    secrets = polar_settings.webhook_secrets
    if not secrets:
        logger.warning(
            "POLAR_FAKE_WEBHOOK_URL is set but POLAR_WEBHOOK_SECRET is not: the fake Polar "
            "has nothing to sign its webhooks with and delivers none."
        )
        return False
    fake.configure_webhooks(
        url,
        secrets[0],
        delivery="background",
        max_attempts=WEBHOOK_ATTEMPTS,
        backoff=WEBHOOK_BACKOFF,
    )
    logger.info("The fake Polar delivers its webhooks to %s", url)
    return True
