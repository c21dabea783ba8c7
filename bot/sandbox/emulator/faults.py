"""Fault mode: make the emulated Slack fail on purpose (500s, resets, refusals, 429s, latency) while it runs.

Kinds, each optionally limited to a set of Web API methods and to a number of seconds:

    error      answer HTTP `status` (default 500) with {"ok": false, "error": "internal_error"}
    ratelimit  answer HTTP 429 with `Retry-After: retry_after` and {"ok": false, "error": "ratelimited"}
    latency    hold the request `latency` seconds before handling it (clearing the fault releases it)
    reset      close the client's connection without an answer (TCP RST); also drops Socket Mode sockets
               when it covers apps.connections.open
    refuse     stop listening: new connections are refused (ECONNREFUSED) and open ones are reset;
               covers every method and the control API too, so over HTTP it needs `seconds`
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator.errors import EmulatorError

FAULT_KINDS = ("error", "ratelimit", "latency", "reset", "refuse")
SOCKET_MODE_METHOD = "apps.connections.open"


@dataclass(frozen=True)
class Fault:
    """One active fault; `methods` None means every method, `until` None means until cleared."""

    id: str
    kind: str
    methods: frozenset[str] | None = None
    status: int = 500
    retry_after: int = 30
    latency: float = 0.0
    until: float | None = None

    def covers(self, method: str, now: float) -> bool:
        """True when this fault is still active and applies to `method`."""
        if self.until is not None and now >= self.until:
            return False
        return self.methods is None or method in self.methods

    def to_api(self, now: float) -> dict[str, Any]:
        """The fault as JSON for the control API."""
        return {
            "id": self.id,
            "kind": self.kind,
            "methods": None if self.methods is None else sorted(self.methods),
            "status": self.status,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "seconds_left": None if self.until is None else max(0.0, self.until - now),
        }


class FaultMode:
    """The set of active faults; checked on every Web API call and Socket Mode handshake."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.faults: list[Fault] = []
        self.injected = 0
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    def add(
        self,
        kind: str,
        *,
        methods: Iterable[str] | None = None,
        status: int = 500,
        retry_after: int = 30,
        latency: float = 0.0,
        seconds: float | None = None,
    ) -> Fault:
        """Switch one fault on; raise EmulatorError on a kind or value that makes no sense."""
        if kind not in FAULT_KINDS:
            raise EmulatorError(f"unknown fault kind {kind!r}", known=list(FAULT_KINDS))
        if kind == "refuse" and methods is not None:
            raise EmulatorError("a refused listener refuses every method: leave `methods` out (or use reset)")
        if kind == "error" and not 400 <= status <= 599:
            raise EmulatorError(f"error status must be 4xx or 5xx, not {status}")
        if retry_after < 0 or latency < 0 or (seconds is not None and seconds <= 0):
            raise EmulatorError("retry_after, latency and seconds must be positive")
        until = None if seconds is None else self.clock() + seconds
        chosen = None if methods is None else frozenset(methods)
        fault = Fault(f"f{next(self._ids)}", kind, chosen, status, int(retry_after), float(latency), until)
        self.faults.append(fault)
        self._signal()
        return fault

    def clear(self, kind: str | None = None, fault_id: str | None = None) -> int:
        """Switch faults off (all, one kind, or one id); return how many were removed."""
        keep = [f for f in self.faults if not (kind in (None, f.kind) and fault_id in (None, f.id))]
        removed = len(self.faults) - len(keep)
        self.faults = keep
        self._signal()
        return removed

    def active(self, method: str, kind: str) -> Fault | None:
        """The most recent active fault of this kind covering `method`, if any."""
        now = self.clock()
        return next((f for f in reversed(self.faults) if f.kind == kind and f.covers(method, now)), None)

    def refusing(self) -> Fault | None:
        """The active refuse fault, if any."""
        return self.active(SOCKET_MODE_METHOD, "refuse")

    def snapshot(self) -> list[dict[str, Any]]:
        """Active faults as JSON, expired ones left out."""
        now = self.clock()
        return [f.to_api(now) for f in self.faults if f.until is None or now < f.until]

    async def delay(self, method: str) -> None:
        """Wait out a latency fault on `method`; returns early when faults change and it no longer applies."""
        fault = self.active(method, "latency")
        if fault is None:
            return
        self.injected += 1
        deadline = self.clock() + fault.latency
        while fault is not None and (remaining := deadline - self.clock()) > 0:
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return
            fault = self.active(method, "latency")

    def _signal(self) -> None:
        # Wake every request held by a latency fault so it re-checks; then arm a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()


def reset_transport(transport: asyncio.BaseTransport | None) -> None:
    """Drop a connection with a TCP RST (SO_LINGER 0), so the client sees a reset rather than a clean close."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()
