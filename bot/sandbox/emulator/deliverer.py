"""What both of Slack's transports keep: every delivery and ack, and a task per delivery until close()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from bot.sandbox.emulator.delivery import AckRecord, Delivery


class Deliverer:
    """The bookkeeping of a transport; HTTP delivery and the Socket Mode hub add how one delivery is attempted."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self.notify = notify
        self.deliveries: list[Delivery] = []
        self.acks: list[AckRecord] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        on_ack: Callable[[AckRecord], None] | None = None,
    ) -> Delivery:
        """Send a payload, retrying while it is unacknowledged (as the transport's config says)."""
        delivery = Delivery(envelope_type, payload, accepts_response_payload, on_ack)
        return self._launch(delivery, self._run(delivery))

    def _again(self, delivery: Delivery) -> Delivery:
        """A new delivery of the same payload, for Slack's retry of it (no ack effect: the first had it)."""
        return Delivery(delivery.type, delivery.payload, delivery.accepts_response_payload)

    def _launch(self, delivery: Delivery, attempts: Coroutine[Any, Any, None]) -> Delivery:
        self.deliveries.append(delivery)
        self._spawn(attempts)
        return delivery

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # Keep a reference so the task is not collected mid-flight, and so close() can stop it.
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, delivery: Delivery, first: int = 0) -> None:
        raise NotImplementedError
