"""A page is a set of independent deliveries (pager event, DM, channel post), each its own durable job.

Each delivery is a timer of kind `deliver`, armed in the same atomic write that records its page
(bot/incidents/pages.py). The handler never raises: on failure it re-arms itself after an
exponential backoff with jitter (to a cap) and keeps going while the incident is open; past a
threshold it also enters the dead-letter set, and leaves it once delivered (marked late). A sent
marker per (page, medium, target) makes a re-run send nothing twice; after a crash or a lost lease
the port is first asked whether an earlier attempt got through. Slack-free: `DeliveryPort` is the seam.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot import metrics
from bot.alerts import utcnow
from bot.errors import BotError
from bot.escalation.policy import PageTarget, TargetKind
from bot.escalation.scheduler import FiredTimer, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.pages import PageRecorder
from bot.incidents.store import IncidentStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters

log = logging.getLogger(__name__)

DELIVER = "deliver"


class Medium(StrEnum):
    """How one delivery reaches its target."""

    PAGER = "pager"
    DM = "dm"
    POST = "post"
    NOTICE = "notice"  # a warning in the channel: a pager refused this page's event


class Waiting(BotError):
    """Not possible yet (the incident channel is still being created): try again soon."""


class Undeliverable(BotError):
    """Can never succeed as configured (no routing key, an event the pager refuses): stop with a note."""


@dataclass(frozen=True)
class Delivery:
    """One (page, medium, target): what a delivery job carries."""

    incident_id: str
    page_id: str
    medium: Medium
    target: str
    level: int
    reason: str
    targets: tuple[PageTarget, ...]
    paged_at: datetime
    note: str = ""

    @property
    def job_id(self) -> str:
        """The timer id, also the key of its sent marker and dead-letter entry."""
        return f"dlv:{self.incident_id}:{self.page_id}:{self.medium.value}:{self.target}"

    @property
    def ref(self) -> str:
        """A short reference put in the delivered message, so a retry can find it at the destination."""
        return f"{self.page_id}/{self.medium.value}"

    def payload(self) -> dict[str, Any]:
        """The timer payload."""
        return {
            "page": self.page_id,
            "medium": self.medium.value,
            "target": self.target,
            "level": self.level,
            "reason": self.reason,
            "targets": [{"kind": t.kind.value, "id": t.id, "via": t.via} for t in self.targets],
            "paged_at": self.paged_at.isoformat(),
            "note": self.note,
        }

    @classmethod
    def from_timer(cls, incident_id: str, payload: dict[str, Any]) -> Delivery:
        """Rebuild a delivery from its timer payload."""
        return cls(
            incident_id=incident_id,
            page_id=str(payload["page"]),
            medium=Medium(payload["medium"]),
            target=str(payload["target"]),
            level=int(payload["level"]),
            reason=str(payload["reason"]),
            targets=tuple(PageTarget(TargetKind(t["kind"]), str(t["id"]), t.get("via")) for t in payload["targets"]),
            paged_at=datetime.fromisoformat(str(payload["paged_at"])),
            note=str(payload.get("note", "")),
        )


class DeliveryPort(Protocol):
    """Sends one delivery: the Slack edge and the pager hook implement it."""

    async def deliver(self, delivery: Delivery, incident: Incident, late: bool) -> str:
        """Send once and return a short note; raise Undeliverable to stop, any other error to retry."""
        ...

    async def already_delivered(self, delivery: Delivery, incident: Incident) -> bool:
        """After a crash or a lost lease: whether an earlier attempt reached the destination."""
        ...


def plan_deliveries(
    incident_id: str, page_id: str, level: int, targets: Sequence[PageTarget], reason: str, at: datetime
) -> list[Delivery]:
    """The deliveries of one page: each pager, a DM per user, and the channel post."""
    whole = tuple(targets)
    out = [
        Delivery(incident_id, page_id, Medium.PAGER, t.id, level, reason, whole, at)
        for t in targets
        if t.kind is TargetKind.PAGER
    ]
    out += [
        Delivery(incident_id, page_id, Medium.DM, t.id, level, reason, whole, at)
        for t in targets
        if t.kind is TargetKind.USER
    ]
    out.append(Delivery(incident_id, page_id, Medium.POST, "channel", level, reason, whole, at))
    return out


def delivery_timers(deliveries: Sequence[Delivery], at: datetime) -> list[ArmRequest]:
    """One timer per delivery, all due at once: each is its own job, so none waits on another."""
    return [ArmRequest(d.job_id, at, DELIVER, d.payload(), d.incident_id) for d in deliveries]


@dataclass(frozen=True)
class DeliveryConfig:
    """Retry tuning of page deliveries."""

    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=10.0))
    waiting_s: float = 1.0
    dead_letter_after: int = 5
    late_after_s: float = 30.0
    marker_ttl_s: float = 7 * 86400


class PageDeliveries:
    """Runs delivery jobs: at most once per target, retried while the incident is open, never dropped unseen."""

    def __init__(
        self,
        store: IncidentStore,
        timers: TimerStore,
        port: DeliveryPort,
        dead_letters: DeadLetters | None = None,
        config: DeliveryConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.pages = PageRecorder(store)  # the page store: sent-markers go through its RedisError translation
        self.timers = timers
        self.port = port
        self.dead_letters = dead_letters or DeadLetters(store.redis, store.keys)
        self.config = config or DeliveryConfig()
        self.clock = clock

    def register(self, scheduler: TimerScheduler) -> None:
        """Route delivery timers here."""
        scheduler.register(DELIVER, self.handle_deliver)

    async def handle_deliver(self, timer: FiredTimer) -> None:
        """Send one delivery unless it went out already; on failure re-arm with backoff (the last thing done)."""
        delivery = Delivery.from_timer(timer.incident_id or "", timer.payload)
        failures = int(timer.payload.get("failures", 0))
        if await self.pages.delivery_settled(delivery.incident_id, delivery.job_id):
            await self.dead_letters.remove(delivery.job_id)
            return
        incident = await self.store.get_incident(delivery.incident_id)
        if incident is None or incident.status is Status.CLOSED:
            await self._give_up(delivery, incident, "the incident is closed" if incident else "the incident is gone")
            return
        late = (self.clock() - delivery.paged_at).total_seconds() > self.config.late_after_s
        try:
            if (failures or timer.attempt > 1) and await self.port.already_delivered(delivery, incident):
                note = "found delivered by an earlier attempt"
            else:
                note = await self.port.deliver(delivery, incident, late)
        except Waiting as exc:
            # Not a failure of this delivery: what it waits for (provisioning) is retried and dead-lettered itself.
            await self._rearm(timer, delivery, failures, str(exc), self.config.waiting_s)
            return
        except Undeliverable as exc:
            await self.pages.settle_delivery(
                delivery.incident_id, delivery.job_id, "undeliverable", self.config.marker_ttl_s
            )
            await self._settle(delivery, failures + 1, f"not sent: {exc}", "undeliverable", late)
            if delivery.medium is Medium.PAGER:
                # People must learn the pager did not page: a warning in the channel, durable like the rest.
                notice = replace(delivery, medium=Medium.NOTICE, note=f"{delivery.target} page not sent: {exc}")
                await self.timers.arm_many(delivery_timers([notice], self.clock()))
            return
        except Exception as exc:  # every failure is retried; it is logged and, past the threshold, dead-lettered
            await self._retry(timer, delivery, failures + 1, exc)
            return
        await self.pages.settle_delivery(delivery.incident_id, delivery.job_id, "sent", self.config.marker_ttl_s)
        await self._settle(delivery, failures + 1, note, "late" if late else "delivered", late)

    async def _settle(self, delivery: Delivery, attempts: int, note: str, outcome: str, late: bool) -> None:
        metrics.DELIVERIES.labels(delivery.medium.value, outcome).inc()
        await self.dead_letters.remove(delivery.job_id)
        what = f"level {delivery.level} page, {delivery.medium.value} to {delivery.target}: {note}"
        if late:
            what += f" (late: paged at {delivery.paged_at:%H:%M:%S} UTC)"
        data: dict[str, object] = {"page": delivery.page_id, "medium": delivery.medium.value}
        data |= {"target": delivery.target, "outcome": outcome, "attempts": attempts, "late": late}
        await self.store.append_timeline(TimelineEvent(EventType.ESCALATION, delivery.incident_id, what, data=data))
        if outcome == "undeliverable":
            log.warning(
                "page delivery not possible",
                extra={"incident": delivery.incident_id, "job": delivery.job_id, "note": note},
            )

    async def _retry(self, timer: FiredTimer, delivery: Delivery, failures: int, exc: Exception) -> None:
        reason = str(exc) or type(exc).__name__
        now = self.clock()
        # The first failure's time travels in the payload, so the dead-letter entry can say since when.
        first = timer.payload.get("first_failed_at") or now.isoformat()
        if failures == self.config.dead_letter_after:
            log.error(
                "page delivery dead-lettered; still retrying",
                extra={"incident": delivery.incident_id, "job": delivery.job_id, "error": reason},
            )
            await self._record_dead_letter(delivery, failures, reason, datetime.fromisoformat(first))
        elif failures > self.config.dead_letter_after:
            await self.dead_letters.add(
                delivery.job_id, delivery.incident_id, DELIVER, reason, now, failures, datetime.fromisoformat(first)
            )
        else:
            log.warning(
                "page delivery failed; retrying",
                extra={"incident": delivery.incident_id, "job": delivery.job_id, "error": reason},
            )
        delay = self.config.backoff.delay(failures)
        await self._rearm(timer, delivery, failures, reason, delay, {"first_failed_at": first})

    async def _rearm(
        self,
        timer: FiredTimer,
        delivery: Delivery,
        failures: int,
        reason: str,
        delay: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        payload = {**timer.payload, **(extra or {}), "failures": failures, "last_error": reason[:300]}
        # Re-arming hands the timer back; it must be the handler's last step.
        due = self.clock() + timedelta(seconds=delay)
        await self.timers.arm(delivery.job_id, due, DELIVER, payload, delivery.incident_id)

    async def _record_dead_letter(self, delivery: Delivery, failures: int, reason: str, first: datetime) -> None:
        await self.dead_letters.add(
            delivery.job_id, delivery.incident_id, DELIVER, reason, self.clock(), failures, first
        )
        metrics.DELIVERIES.labels(delivery.medium.value, "dead_lettered").inc()
        what = f"level {delivery.level} page, {delivery.medium.value} to {delivery.target}"
        summary = f"{what}: not delivered after {failures} attempts ({reason}); still retrying"
        data: dict[str, object] = {"page": delivery.page_id, "medium": delivery.medium.value}
        data |= {"target": delivery.target, "outcome": "dead_lettered", "attempts": failures}
        await self.store.append_timeline(TimelineEvent(EventType.ESCALATION, delivery.incident_id, summary, data=data))

    async def _give_up(self, delivery: Delivery, incident: Incident | None, why: str) -> None:
        log.warning(
            "page delivery abandoned", extra={"incident": delivery.incident_id, "job": delivery.job_id, "why": why}
        )
        metrics.DELIVERIES.labels(delivery.medium.value, "abandoned").inc()
        await self.dead_letters.remove(delivery.job_id)
        if incident is not None:
            summary = f"level {delivery.level} page, {delivery.medium.value} to {delivery.target}: not delivered, {why}"
            data = {
                "page": delivery.page_id,
                "medium": delivery.medium.value,
                "target": delivery.target,
                "outcome": "abandoned",
            }
            await self.store.append_timeline(
                TimelineEvent(EventType.ESCALATION, delivery.incident_id, summary, data=data)
            )
