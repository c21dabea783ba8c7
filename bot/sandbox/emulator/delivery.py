"""Deliveries: one payload Slack needs acknowledged, its envelope attempts and the acks that came back."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator.errors import EmulatorTimeout

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One envelope sent for a delivery (retry_attempt `number`)."""

    envelope_id: str
    number: int
    connection_id: str
    sent_at: float


@dataclass
class AckRecord:
    """An ack the app sent: which envelope, over which socket, how fast, with what response payload."""

    envelope_id: str
    delivery_id: str | None
    envelope_type: str | None
    attempt: int
    connection_id: str
    latency: float | None
    payload: dict[str, Any] | None
    at: float
    duplicate: bool = False


class Delivery:
    """The handle a driver call returns: await `acked()` for the ack, its latency and response payload."""

    def __init__(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool,
        on_ack: Callable[[AckRecord], None] | None = None,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.type = envelope_type
        self.payload = payload
        self.accepts_response_payload = accepts_response_payload
        self.attempts: list[Attempt] = []
        self.acks: list[AckRecord] = []
        self.gave_up = False
        self.effect_error: Exception | None = None
        self._on_ack = on_ack
        self._acked: asyncio.Future[AckRecord] = asyncio.get_running_loop().create_future()

    @property
    def done(self) -> bool:
        """True once any attempt was acknowledged."""
        return self._acked.done()

    @property
    def ack(self) -> AckRecord | None:
        """The first ack, if any."""
        return self._acked.result() if self._acked.done() else None

    @property
    def envelope_ids(self) -> list[str]:
        """Envelope ids of every attempt, first to last."""
        return [attempt.envelope_id for attempt in self.attempts]

    async def wait(self, seconds: float) -> bool:
        """True if acknowledged within `seconds`."""
        try:
            await asyncio.wait_for(asyncio.shield(self._acked), seconds)
        except TimeoutError:
            return False
        return True

    async def acked(self, timeout: float = 5.0) -> AckRecord:  # noqa: ASYNC109
        """The first ack; EmulatorTimeout if none comes in time."""
        if not await self.wait(timeout):
            raise EmulatorTimeout(
                f"{self.type} envelope not acknowledged within {timeout}s",
                attempts=len(self.attempts),
                gave_up=self.gave_up,
            )
        return self._acked.result()

    def record_ack(
        self, attempt: Attempt, connection_id: str, latency: float, payload: dict[str, Any] | None
    ) -> AckRecord:
        """Note an ack for one of our envelopes; the first one resolves the delivery and runs its effect."""
        record = AckRecord(
            envelope_id=attempt.envelope_id,
            delivery_id=self.id,
            envelope_type=self.type,
            attempt=attempt.number,
            connection_id=connection_id,
            latency=latency,
            payload=payload,
            at=time.time(),
            duplicate=self.done,
        )
        self.acks.append(record)
        if not self.done:
            self._acked.set_result(record)
            if self._on_ack is not None:
                try:
                    self._on_ack(record)
                except Exception as exc:
                    # Slack would show the person an error; keep it for the test and log it.
                    self.effect_error = exc
                    log.warning(
                        "emulator: the ack of %s envelope %s was refused: %r", self.type, attempt.envelope_id, exc
                    )
        return record
