"""Socket Mode over WebSocket: tickets, hello, envelopes to exactly one socket, acks, retries, disconnects."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.emulator.deliverer import Deliverer
from bot.sandbox.emulator.delivery import AckRecord, Attempt, Delivery
from bot.sandbox.emulator.faults import reset_transport

log = logging.getLogger(__name__)
HOST = "applink-emulator-1"


@dataclass
class SocketModeConfig:
    """Socket Mode behaviour; defaults are Slack's (3 s acks, 3 retries of Events API envelopes, 10 sockets)."""

    ack_timeout: float = 3.0
    max_retries: int = 3
    retry_types: frozenset[str] = frozenset({"events_api"})
    retry_delay: float = 0.0
    max_connections: int = 10
    ticket_ttl: float = 60.0
    disconnect_grace: float = 10.0
    ping_interval: float | None = 30.0
    approximate_connection_time: int = 3600


@dataclass
class Connection:
    """One open Socket Mode WebSocket."""

    id: str
    ws: web.WebSocketResponse
    opened_at: float
    draining: bool = False
    envelopes_sent: int = 0
    envelope_ids: list[str] = field(default_factory=list)
    transport: asyncio.BaseTransport | None = None

    @property
    def open(self) -> bool:
        """True while the socket is not closed."""
        return not self.ws.closed


class SocketHub(Deliverer):
    """All Socket Mode connections of the app, and every envelope sent over them."""

    def __init__(self, config: SocketModeConfig, app_id: str, notify: Callable[[], None]) -> None:
        super().__init__(notify)
        self.config = config
        self.app_id = app_id
        self.connections: dict[str, Connection] = {}
        self.opened_total = 0
        self._tickets: dict[str, float] = {}
        self._by_envelope: dict[str, tuple[Delivery, Attempt]] = {}
        self._round_robin = 0
        self._connected = asyncio.Event()
        self._started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def issue_ticket(self) -> str:
        """A ticket for apps.connections.open's URL."""
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = time.monotonic()
        return ticket

    def live(self) -> list[Connection]:
        """Open connections that may receive envelopes (not told to disconnect)."""
        return [c for c in self.connections.values() if c.open and not c.draining]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint the client connects to with its ticket."""
        issued = self._tickets.get(request.query.get("ticket", ""))
        if issued is None or time.monotonic() - issued > self.config.ticket_ttl:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse(autoping=True, heartbeat=self.config.ping_interval)
        await ws.prepare(request)
        if sum(c.open for c in self.connections.values()) >= self.config.max_connections:
            await ws.send_json(self._disconnect_message("too_many_websockets"))
            await ws.close()
            return ws
        conn = Connection(
            id=f"conn-{secrets.token_hex(4)}", ws=ws, opened_at=time.monotonic(), transport=request.transport
        )
        self.connections[conn.id] = conn
        self.opened_total += 1
        await ws.send_json(self._hello())
        self._connected.set()
        self.notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(conn, message.data)
        finally:
            self.connections.pop(conn.id, None)
            self.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": sum(c.open for c in self.connections.values()),
            "debug_info": {
                "host": HOST,
                "started": self._started,
                "build_number": 1,
                "approximate_connection_time": self.config.approximate_connection_time,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _disconnect_message(self, reason: str) -> dict[str, Any]:
        return {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}

    def _on_text(self, conn: Connection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            log.warning("socket mode: ignoring non-JSON frame from %s", conn.id)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            return
        found = self._by_envelope.get(envelope_id)
        payload = message.get("payload")
        if found is None:
            self.acks.append(AckRecord(envelope_id, None, None, 0, conn.id, None, payload, time.time()))
            return
        delivery, attempt = found
        latency = time.monotonic() - attempt.sent_at
        record = delivery.record_ack(attempt, conn.id, latency, payload if isinstance(payload, dict) else None)
        self.acks.append(record)
        self.notify()

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivery's payload again as Slack's retry of it: a new envelope with `retry_attempt` 1 and up."""
        again = self._again(delivery)
        return self._launch(again, self._run(again, first=1))

    async def _run(self, delivery: Delivery, first: int = 0) -> None:
        """Send to one live socket and wait for the ack, again while unacknowledged (per config)."""
        retries = self.config.max_retries if delivery.type in self.config.retry_types else 0
        for number in range(first, max(retries, first) + 1):
            if number and self.config.retry_delay:
                await asyncio.sleep(self.config.retry_delay)
            if delivery.done:
                return
            conn = await self._pick(self.config.ack_timeout)
            if conn is None or not await self._send(delivery, conn, number):
                continue
            if await delivery.wait(self.config.ack_timeout):
                return
        delivery.gave_up = True
        self.notify()

    async def _pick(self, seconds: float) -> Connection | None:
        deadline = time.monotonic() + seconds
        while True:
            live = self.live()
            if live:
                self._round_robin = (self._round_robin + 1) % len(live)
                return live[self._round_robin]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._connected.clear()
            try:
                await asyncio.wait_for(self._connected.wait(), remaining)
            except TimeoutError:
                return None

    async def _send(self, delivery: Delivery, conn: Connection, number: int) -> bool:
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": delivery.payload,
            "type": delivery.type,
            "accepts_response_payload": delivery.accepts_response_payload,
            "retry_attempt": number,
            "retry_reason": "timeout" if number else "",
        }
        attempt = Attempt(envelope_id, number, conn.id, time.monotonic())
        self._by_envelope[envelope_id] = (delivery, attempt)
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError) as exc:
            log.info("socket mode: envelope %s not sent on %s: %s", envelope_id, conn.id, exc)
            return False
        delivery.attempts.append(attempt)
        conn.envelopes_sent += 1
        conn.envelope_ids.append(envelope_id)
        self.notify()
        return True

    async def disconnect(self, reason: str = "refresh_requested", connection_id: str | None = None) -> int:
        """Tell sockets to reconnect (reason warning or refresh_requested); close them after the grace period."""
        targets = [c for c in self.live() if connection_id in (None, c.id)]
        for conn in targets:
            conn.draining = True
            await conn.ws.send_json(self._disconnect_message(reason))
            self._spawn(self._close_later(conn))
        return len(targets)

    def reset_all(self) -> int:
        """Drop every open socket with a TCP reset, as a network failure would; return how many."""
        targets = [c for c in self.connections.values() if c.open]
        for conn in targets:
            reset_transport(conn.transport)
        return len(targets)

    async def _close_later(self, conn: Connection) -> None:
        await asyncio.sleep(self.config.disconnect_grace)
        await conn.ws.close()

    async def close(self) -> None:
        """Close every socket and stop every pending delivery."""
        await self._cancel_tasks()
        for conn in list(self.connections.values()):
            await conn.ws.close(code=1001, message=b"emulator stopping")
