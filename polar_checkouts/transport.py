"""How the client's requests travel: the retry policy and the transport (a requests adapter).

``PolarClient`` sends through the transport it is given; ``None`` means the default: the
real network (:func:`http_transport`), unless a test double was installed with
:func:`set_default_transport` / :func:`default_transport` (the ``polar_fake`` fixture
does). Retries are one policy, :func:`build_retry`, run by whichever adapter carries the
request: GET and PATCH retry on connection errors, read errors, 429 and 502/503/504 with
exponential backoff and jitter; POST only when the connection was never established.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

#: A factory given the client's retry policy, returning the requests adapter to mount.
TransportFactory = Callable[[Retry], BaseAdapter]
#: What ``PolarClient(transport=...)`` and ``POLAR_TRANSPORT`` take: an adapter, or a factory.
Transport = BaseAdapter | TransportFactory


class PolarRetry(Retry):
    """urllib3's Retry, but a long ``Retry-After`` ends the retries instead of blocking.

    Waiting minutes inside a web request helps nobody: past ``retry_after_cap`` seconds
    the 429 is handed back to the caller as a :class:`~.exceptions.RateLimitError`.
    """

    #: The longest ``Retry-After`` (seconds) a call waits out before retrying.
    retry_after_cap: float = 30.0

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> PolarRetry:
        """urllib3's next retry state; a 429 asking to wait longer than
        ``retry_after_cap`` seconds ends the retries at once (``MaxRetryError``)."""
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.retry_after_cap:
                raise MaxRetryError(
                    _pool,  # type: ignore[arg-type]
                    url or "",
                    ResponseError(f"Retry-After {wait:g} s exceeds the cap"),
                )
        return super().increment(method, url, response, error, _pool, _stacktrace)


def build_retry(max_retries: int) -> PolarRetry:
    """The retry policy described in the module docstring, allowing ``max_retries`` retries."""
    return PolarRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "PATCH"}),
        status_forcelist=frozenset({429, 502, 503, 504}),
        backoff_factor=0.25,
        backoff_jitter=0.25,
        backoff_max=8.0,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def http_transport(retry: Retry) -> HTTPAdapter:
    """The real network: a pooled :class:`~requests.adapters.HTTPAdapter` running ``retry``."""
    return HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)


_default_transport: Transport | None = None


def set_default_transport(transport: Transport | None) -> Transport | None:
    """Set the transport of clients built from now on without one; returns the previous.

    ``None`` restores the real network. A test double for a whole test run installs
    itself here (the ``polar_fake`` fixture does); a client given a transport keeps it.
    """
    global _default_transport
    previous, _default_transport = _default_transport, transport
    return previous


@contextmanager
def default_transport(transport: Transport | None) -> Iterator[None]:
    """``with default_transport(t):`` clients built inside without a transport use ``t``."""
    previous = set_default_transport(transport)
    try:
        yield
    finally:
        set_default_transport(previous)


def adapter_for(transport: Transport | None, retry: Retry) -> BaseAdapter:
    """The adapter for a client: its own transport, else the default one, else the network."""
    chosen = transport if transport is not None else _default_transport
    if chosen is None:
        return http_transport(retry)
    if isinstance(chosen, BaseAdapter):
        return chosen
    return chosen(retry)


def get_default_transport() -> Transport | None:
    """The transport installed by :func:`set_default_transport` (``None``: the network)."""
    return _default_transport
