"""A guard in front of the HTTP server: a header deadline for every connection, and a cap on open connections.

aiohttp reads request headers for as long as a client cares to send them, so a client that opens a
connection and dribbles half a header holds a file descriptor for as long as it likes. The guard wraps
every accepted connection in a ConnectionWatch, which passes bytes on to aiohttp's own protocol and
keeps a deadline: from the moment the connection is accepted until its first request starts (the
guard's middleware sees it), and again from the end of each request to the start of the next one on a
kept-alive connection. A connection past its deadline gets `408 Request Timeout` and is closed. Body
reads are bounded by the route that reads them (the webhook handler).

At `max_connections` open connections a new one evicts the oldest connection that is still waiting for
headers (a slow client loses its place to a working one); when every open connection is busy with a
request, the newcomer gets `503` with `Retry-After` and is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot import metrics

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
# asyncio runs a timer up to its clock resolution early; a deadline that close is due.
CLOCK_SLACK_S = 0.001
SERVER_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a connection may take to send its headers, and how many may be open at once."""

    header_timeout_s: float = 10.0
    max_connections: int = 512
    # After an early answer (401, 408, 413) aiohttp reads and drops the rest of the body so the client can read
    # the answer; this bounds that (aiohttp's default is 10 s).
    linger_s: float = 2.0


class ConnectionGuard:
    """Protocol factory for `loop.create_server`: watches each connection, and the middleware marks requests."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._factory: Callable[[], asyncio.Protocol] | None = None
        # Accept order, so the oldest idle connection is evicted first.
        self._watches: OrderedDict[asyncio.BaseTransport, ConnectionWatch] = OrderedDict()
        self.middleware = self._make_middleware()

    def serve(self, factory: Callable[[], asyncio.Protocol]) -> None:
        """Set aiohttp's protocol factory (the runner's server), which the guard wraps."""
        self._factory = factory

    @property
    def open_connections(self) -> int:
        """Connections admitted and not yet closed."""
        return len(self._watches)

    def __call__(self) -> ConnectionWatch:
        return ConnectionWatch(self)

    def admit(self, watch: ConnectionWatch, transport: asyncio.BaseTransport) -> asyncio.Protocol | None:
        """aiohttp's protocol for a new connection, or None when the server is full of busy connections."""
        if self._factory is None:
            raise RuntimeError("ConnectionGuard.serve() was not called")
        if len(self._watches) >= self.limits.max_connections:
            idle = next((w for w in self._watches.values() if not w.busy), None)
            if idle is None:
                metrics.HTTP_CONNECTIONS_SHED.labels("full").inc()
                return None
            idle.shed("evicted")
        self._watches[transport] = watch
        metrics.HTTP_CONNECTIONS_OPEN.set(len(self._watches))
        return self._factory()

    def forget(self, transport: asyncio.BaseTransport | None) -> None:
        """Stop counting a connection (closed, or being closed)."""
        if transport is not None and self._watches.pop(transport, None) is not None:
            metrics.HTTP_CONNECTIONS_OPEN.set(len(self._watches))

    def _make_middleware(self) -> Middleware:
        @web.middleware
        async def connection_watch(request: web.Request, handler: Handler) -> web.StreamResponse:
            watch = self._watches.get(request.transport) if request.transport is not None else None
            if watch is not None:
                watch.request_started()
            try:
                return await handler(request)
            finally:
                if watch is not None:
                    watch.request_finished()

        return connection_watch


class ConnectionWatch(asyncio.Protocol):
    """One connection: hands everything to aiohttp's protocol, and closes the connection at its header deadline."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.BaseTransport | None = None
        self.requests_running = 0
        # Since when the connection waits for a request's headers (loop time); the deadline is this plus the timeout.
        self._idle_since = 0.0
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def busy(self) -> bool:
        """A request is being handled: its headers are in, and the handler bounds the rest."""
        return self.requests_running > 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner = self.guard.admit(self, transport)
        if self.inner is None:
            _send_and_close(transport, SERVER_BUSY)
            return
        self.inner.connection_made(transport)
        self._idle()

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.forget(self.transport)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def request_started(self) -> None:
        """Headers are in: the header deadline no longer applies to this connection."""
        # The timer stays: when it fires on a busy connection it does nothing (see _expire), which is cheaper
        # than cancelling and arming one per request on a kept-alive connection.
        self.requests_running += 1

    def request_finished(self) -> None:
        """The response is on its way: the next request's headers must come within the deadline."""
        self.requests_running = max(0, self.requests_running - 1)
        if not self.busy:
            self._idle()

    def shed(self, reason: str) -> None:
        """Answer 408 and close: the client did not finish its headers in time, or lost its place."""
        self._disarm()
        self.guard.forget(self.transport)
        metrics.HTTP_CONNECTIONS_SHED.labels(reason).inc()
        if self.transport is not None:
            _send_and_close(self.transport, REQUEST_TIMEOUT)

    def _expire(self) -> None:
        self._deadline = None
        if self.busy:
            return  # request_finished arms it again
        due = self._idle_since + self.guard.limits.header_timeout_s
        loop = asyncio.get_running_loop()
        if loop.time() >= due - CLOCK_SLACK_S:
            self.shed("header_timeout")
        else:  # requests came and went since it was armed: wait out the rest of the current deadline
            self._deadline = loop.call_at(due, self._expire)

    def _idle(self) -> None:
        """Waiting for headers from now on: arm the deadline unless a timer is pending (it re-checks when it fires)."""
        loop = asyncio.get_running_loop()
        self._idle_since = loop.time()
        if self._deadline is None:
            self._deadline = loop.call_at(self._idle_since + self.guard.limits.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def _send_and_close(transport: asyncio.BaseTransport, response: bytes) -> None:
    if transport.is_closing():
        return
    if isinstance(transport, asyncio.WriteTransport):
        transport.write(response)
    # close() flushes the short answer first and never waits on the client.
    transport.close()
