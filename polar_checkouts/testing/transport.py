"""The fake Polar as a client transport: a ``requests`` adapter answering from a
:class:`FakePolar`, with no network.

``POLAR_SERVER = "fake"`` selects :data:`fake_transport` (through ``POLAR_TRANSPORT``'s
default); ``PolarClient(..., transport=fake_transport)`` or
``PolarClient(..., transport=FakePolarAdapter(fake))`` pick it by hand.

The adapter runs the retry policy the client configured (``self.max_retries``, a urllib3
:class:`~urllib3.util.Retry`) the way urllib3's connection pool does: statuses go
through ``is_retry``/``increment``, transport faults are raised as the exceptions urllib3
and requests raise for real ones. It never sleeps: each wait the policy asks for
(``Retry-After`` or backoff) is appended to ``fake.sleeps`` instead.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.urls import NoReverseMatch, reverse
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from urllib3.exceptions import (
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from django.http import HttpRequest

from .default import get_default_fake
from .fake import DEFAULT_FRONTEND_URL, FakePolar
from .messages import FakeResponse


class FakePolarAdapter(HTTPAdapter):
    """Routes every request to ``fake`` (or, when ``None``, to :func:`get_default_fake`)."""

    def __init__(self, fake: FakePolar | None = None, max_retries: Retry | int = 0) -> None:
        super().__init__(max_retries=max_retries)
        self._fake = fake

    @property
    def fake(self) -> FakePolar:
        """The fake this adapter answers from."""
        if self._fake is not None:
            return self._fake
        return get_default_fake()

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Answer ``request`` from the fake, retrying as the configured policy says."""
        try:
            raw = self._urlopen(request)
        except MaxRetryError as exc:
            # requests' own mapping of exhausted retries.
            if isinstance(exc.reason, ResponseError):
                raise requests.exceptions.RetryError(exc, request=request) from None
            raise requests.ConnectionError(exc, request=request) from None
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc, request=request) from None
        except ProtocolError as exc:
            raise requests.ConnectionError(exc, request=request) from None
        return self.build_response(request, raw)

    def _urlopen(self, request: PreparedRequest) -> HTTPResponse:
        fake = self.fake
        if fake is get_default_fake():
            _serve_portal_here(fake)
        retries: Retry = self.max_retries
        method = (request.method or "GET").upper()
        url = request.url or "/"
        parts = urlsplit(url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = dict(request.headers.items())
        while True:
            answer = fake.handle(method, parts.path, parts.query, headers, bytes(body))
            error = _transport_error(answer, url)
            if error is not None:
                # increment() re-raises the error when the policy does not retry it.
                retries = retries.increment(method, url, error=error, _pool=None)
                fake.sleeps.append(retries.get_backoff_time())
                continue
            response = _urllib3_response(answer, method, url)
            has_retry_after = bool(response.headers.get("Retry-After"))
            if retries.is_retry(method, response.status, has_retry_after):
                try:
                    retries = retries.increment(method, url, response=response, _pool=None)
                except MaxRetryError:
                    if retries.raise_on_status:
                        raise
                    return response
                fake.sleeps.append(_planned_sleep(retries, response))
                continue
            return response


def _transport_error(answer: FakeResponse, url: str) -> Exception | None:
    fault = answer.transport_fault
    if fault == "refused":
        return NewConnectionError(
            None,  # type: ignore[arg-type]
            "Failed to establish a new connection: [Errno 111] Connection refused",
        )
    if fault == "timeout":
        return ReadTimeoutError(None, url, "Read timed out.")  # type: ignore[arg-type]
    if fault == "disconnect":
        return ProtocolError(
            "Connection aborted.",
            ConnectionResetError(104, "Connection reset by peer"),
        )
    return None


class _BodyStream(io.BytesIO):
    """The body as a socket would deliver it; ``break_at`` resets the "connection" there."""

    def __init__(self, data: bytes, break_at: int | None = None) -> None:
        super().__init__(data[:break_at] if break_at is not None else data)
        self._size = len(data) if break_at is None else break_at
        self._broken = break_at is not None

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk and self._broken:
            raise ConnectionResetError(104, "Connection reset by peer")
        return chunk

    def isclosed(self) -> bool:
        # urllib3 stops streaming when its file object says it is closed.
        return not self._broken and self.tell() >= self._size


def _urllib3_response(answer: FakeResponse, method: str, url: str) -> HTTPResponse:
    # A "reset" answer's status and headers arrive, then the body breaks half-way: the
    # client sees it while reading the content, as with a real socket.
    break_at = len(answer.body) // 2 if answer.fault == "reset" else None
    headers = {**answer.headers, "content-length": str(len(answer.body))}
    return HTTPResponse(
        body=_BodyStream(answer.body, break_at),
        headers=headers,
        status=answer.status,
        reason=_reason(answer.status),
        preload_content=False,
        decode_content=False,
        request_method=method,
        request_url=url,
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _planned_sleep(retries: Retry, response: Any) -> float:
    # Mirrors Retry.sleep(response): Retry-After when honoured and present, else backoff.
    if retries.respect_retry_after_header:
        retry_after = retries.get_retry_after(response)
        if retry_after:
            return retry_after
    return retries.get_backoff_time()


def _serve_portal_here(fake: FakePolar) -> None:
    """Point the default fake's portal links (``customer_portal_url``) at the mounted
    ``polar_checkouts.testing`` urls, which serve its portal page, when its frontend is
    the placeholder no browser can reach. The link is site-relative: the browser stays on
    the shop's host."""
    if fake.portal_url is not None or fake.frontend_url != DEFAULT_FRONTEND_URL:
        return
    with contextlib.suppress(NoReverseMatch):
        fake.portal_url = reverse("polar_fake:api-root").rstrip("/")


def fake_adapter(max_retries: Retry | int = 0, fake: FakePolar | None = None) -> FakePolarAdapter:
    """An adapter answering from ``fake`` (default: :func:`get_default_fake`, at each call)."""
    return FakePolarAdapter(fake, max_retries=max_retries)


class FakeTransport:
    """A transport factory (``POLAR_TRANSPORT``): ``factory(retry)`` is a
    :class:`FakePolarAdapter` running the client's retry policy against ``fake`` (default:
    :func:`get_default_fake`, looked up at each call, so the ``polar_fake`` fixture's fake).
    """

    def __init__(self, fake: FakePolar | None = None) -> None:
        self.fake = fake

    def __call__(self, retry: Retry) -> FakePolarAdapter:
        """The adapter of one client, running ``retry``."""
        return FakePolarAdapter(self.fake, max_retries=retry)

    def browser_api_root(self, request: HttpRequest) -> str | None:
        """Where a browser reaches this fake: the mounted ``polar_checkouts.testing.urls``.

        ``None`` when they are not mounted (the page's client calls then go through the
        server). Only the default fake is served there.
        """
        if self.fake is not None:
            return None
        try:
            return reverse("polar_fake:api-root")
        except NoReverseMatch:
            return None

    def __repr__(self) -> str:
        return f"<FakeTransport {'default fake' if self.fake is None else self.fake!r}>"


#: The transport ``POLAR_SERVER = "fake"`` uses: the default fake, in process.
fake_transport = FakeTransport()
