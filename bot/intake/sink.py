"""Where validated alert batches go: the AlertSink seam, and a sink that records them in the incident store."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.errors import IllegalTransition
from bot.incidents.models import Status
from bot.incidents.store import AlertOutcome, IncidentStore
from bot.intake.batch import Acknowledgement, IntakeBatch

log = logging.getLogger(__name__)


class AlertSink(Protocol):
    """Takes a validated batch; returns one outcome per alert, in order. Raises StoreError when Redis fails."""

    async def accept(self, batch: IntakeBatch) -> list[AlertOutcome]:
        """Record the batch's alerts, then apply its acknowledgements."""
        ...


class StoreSink:
    """An AlertSink that only records in the incident store (no Slack work); for tests, benches and simulation."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store

    async def accept(self, batch: IntakeBatch) -> list[AlertOutcome]:
        """Record each alert in order, then acknowledge the incidents the batch acknowledges."""
        outcomes = [await self.store.open_or_update(alert) for alert in batch.alerts]
        for ack in batch.acknowledgements:
            await acknowledge_group(self.store, ack)
        return outcomes


async def acknowledge_group(store: IncidentStore, ack: Acknowledgement) -> bool:
    """Move the open incident of the acknowledged group to acknowledged; False when there is nothing to move."""
    incident = await store.find_by_group(ack.group_key)
    if incident is None or incident.status is not Status.TRIGGERED:
        return False
    try:
        await store.transition(incident.id, Status.ACKNOWLEDGED, actor=ack.actor or ack.source)
    except IllegalTransition:
        # Another writer moved it on between our read and our write; a later state wins over an ack.
        log.info("acknowledgement superseded", extra={"incident": incident.id, "source": ack.source})
        return False
    return True
