"""The incident store: the only module that reads and writes incident state in Redis."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.alerts import Alert, AlertStatus, utcnow
from bot.connections import Redis, is_cluster
from bot.errors import ConflictError, IncidentNotFound, StoreError
from bot.incidents import fast_scripts, scripts
from bot.incidents.claims import CLAIM_PREFIX, claim_token
from bot.incidents.lifecycle import apply_alert, can_reopen, new_incident
from bot.incidents.models import AuditEvent, EventType, Incident, Status, TimelineEvent
from bot.incidents.outcomes import AlertOutcome as AlertOutcome
from bot.incidents.outcomes import RecentRecords, load_incident
from bot.jobs.arming import arm_outside, arm_specs, inside
from bot.keys import Keys
from bot.redis_batch import ScriptBatcher

if TYPE_CHECKING:
    from bot.escalation.timers import ArmRequest

Mutation = Callable[[Incident], Sequence[TimelineEvent] | None]

CLAIM_LEASE_MS = 15_000
MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class Creation:
    """What is written together with a new incident: extra timeline events and durable timers."""

    events: Sequence[TimelineEvent] = ()
    timers: Sequence[ArmRequest] = ()


# Called with the new incident before it is written; may set fields on it (its runbook, say).
OnCreate = Callable[[Incident], Creation]


class IncidentStore:
    """Incident records, timelines and the audit log in Redis, with compare-and-set writes."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        reopen_window: timedelta = timedelta(minutes=30),
        timeline_max_len: int = 10_000,
        audit_max_len: int = 1_000_000,
        clock: Callable[[], datetime] = utcnow,
        single_node: bool | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        # Told of every status move (metrics); set by the composition root, a no-op by default.
        self.on_move: Callable[[Status, Incident, datetime], None] = _ignore_move
        self.reopen_window = reopen_window
        self.timeline_max_len = timeline_max_len
        self.audit_max_len = audit_max_len
        self.clock = clock
        self._create = redis.register_script(scripts.CREATE_AND_ARM)
        self._cas = redis.register_script(scripts.COMPARE_AND_SET)
        self._record = redis.register_script(scripts.RECORD_ALERT)
        self._swap_owner = redis.register_script(scripts.SWAP_OWNER)
        # One node (or a Sentinel primary): the intake's short path, whose scripts cross hash slots.
        # A Cluster client takes the stepwise path, each script within one slot.
        self.single_node = not is_cluster(redis) if single_node is None else single_node
        # The lookup answers every re-delivered alert: concurrent ones share a pipeline (bot/redis_batch.py).
        self._lookup = ScriptBatcher(redis, redis.register_script(fast_scripts.LOOKUP_OR_CLAIM))
        self._create_owned = redis.register_script(fast_scripts.CREATE_OWNED)
        self._record_indexed = redis.register_script(fast_scripts.RECORD_ALERT_INDEXED)
        self._owner_keys = [*_split(self.keys.incident), *_split(self.keys.alerts_seen)]
        # Records the de-dup path decided from recently: a re-delivery does not parse its incident again.
        self._records = RecentRecords()

    # -- reads ---------------------------------------------------------------

    async def get_incident(self, incident_id: str) -> Incident | None:
        """The incident, or None when there is none with that id."""
        raw = await self._call(self.redis.hgetall(self.keys.incident(incident_id)))
        if not raw:
            return None
        incident = Incident.model_validate_json(raw["data"])
        incident.version = int(raw["version"])
        return incident

    async def get_incident_or_raise(self, incident_id: str) -> Incident:
        """The incident; raises IncidentNotFound."""
        incident = await self.get_incident(incident_id)
        if incident is None:
            raise IncidentNotFound(f"no incident {incident_id}", incident=incident_id)
        return incident

    async def list_open_incidents(self) -> list[Incident]:
        """Every incident not yet closed, oldest first."""
        ids = await self._call(self.redis.smembers(self.keys.open_index()))
        found = [i for i in await asyncio.gather(*(self.get_incident(x) for x in ids)) if i is not None]
        return sorted(found, key=lambda i: i.number)

    async def find_by_channel(self, channel_id: str) -> Incident | None:
        """The incident whose Slack channel this is, if any."""
        incident_id = await self._call(self.redis.hget(self.keys.channel_index(), channel_id))
        return await self.get_incident(incident_id) if incident_id else None

    async def find_by_group(self, group_key: str) -> Incident | None:
        """The incident that currently owns this alert group, if any."""
        owner = await self._call(self.redis.get(self.keys.group(group_key)))
        if owner is None or owner.startswith(CLAIM_PREFIX):
            return None
        return await self.get_incident(owner)

    async def read_timeline(self, incident_id: str, count: int | None = None) -> list[TimelineEvent]:
        """The incident's timeline in order."""
        rows = await self._call(self.redis.xrange(self.keys.timeline(incident_id), count=count))
        return [TimelineEvent.from_fields(sid, fields) for sid, fields in rows]

    async def read_audit(self, incident_id: str | None = None, since: datetime | None = None) -> list[AuditEvent]:
        """Audit events in order, optionally for one incident and from a time on."""
        start = f"{int(since.timestamp() * 1000)}-0" if since else "-"
        rows = await self._call(self.redis.xrange(self.keys.audit(), min=start))
        events = [AuditEvent.from_fields(sid, fields) for sid, fields in rows]
        return [e for e in events if incident_id is None or e.incident_id == incident_id]

    # -- writes --------------------------------------------------------------

    async def create_incident(self, title: str, **fields: object) -> Incident:
        """Open an incident by hand (no alert group)."""
        number = await self._call(self.redis.incr(self.keys.incident_counter()))
        base = {"id": f"INC-{number}", "number": number, "title": title, "triggered_at": self.clock()}
        incident = Incident.model_validate({**base, **fields})
        opened = TimelineEvent(EventType.OPENED, incident.id, f"opened: {title}", at=self.clock())
        await self._insert(incident, [opened], delivery_id="")
        return incident

    async def update_incident(self, incident_id: str, mutate: Mutation) -> Incident:
        """Apply `mutate` with compare-and-set, retrying on concurrent writes."""
        for attempt in range(MAX_ATTEMPTS):
            incident = await self.get_incident_or_raise(incident_id)
            version = incident.version
            events = list(mutate(incident) or [])
            result = await self._call(
                self._cas(
                    keys=[self.keys.incident(incident_id), self.keys.timeline(incident_id)],
                    args=[version, _dump(incident), self.timeline_max_len, _events_json(events)],
                )
            )
            if result == 1:
                incident.version = version + 1
                await self._sync_open_index(incident)
                return incident
            if result == -2:
                raise IncidentNotFound(f"no incident {incident_id}", incident=incident_id)
            await _backoff(attempt)
        raise ConflictError(f"{incident_id}: too many concurrent writers", incident=incident_id)

    async def transition(self, incident_id: str, target: Status, actor: str) -> Incident:
        """Move the incident to `target`; raises IllegalTransition on a forbidden move."""

        before: list[Status] = []

        def move(incident: Incident) -> list[TimelineEvent]:
            old = incident.status
            before[:] = [old]
            incident.transition(target, actor=actor, at=self.clock())
            kind = EventType.REOPENED if target is Status.TRIGGERED else EventType.STATUS
            summary = f"{old.value} → {target.value}"
            return [TimelineEvent(kind, incident.id, summary, actor, {"status": target.value}, self.clock())]

        moved = await self.update_incident(incident_id, move)
        self.on_move(before[0], moved, self.clock())
        return moved

    async def bind_channel(self, incident_id: str, channel_id: str, channel_name: str) -> Incident:
        """Record the incident's Slack channel and index it."""

        def bind(incident: Incident) -> None:
            incident.channel_id = channel_id
            incident.channel_name = channel_name

        incident = await self.update_incident(incident_id, bind)
        await self._call(self.redis.hset(self.keys.channel_index(), channel_id, incident_id))
        return incident

    async def append_timeline(self, event: TimelineEvent) -> str:
        """Add one event to its incident's timeline; returns the stream id."""
        key = self.keys.timeline(event.incident_id)
        sid = await self._call(
            self.redis.xadd(key, event.to_fields(), maxlen=self.timeline_max_len, approximate=True)  # type: ignore[arg-type]
        )
        return str(sid)

    async def audit(self, event: AuditEvent) -> str:
        """Add one event to the audit log; returns the stream id."""
        sid = await self._call(
            self.redis.xadd(self.keys.audit(), event.to_fields(), maxlen=self.audit_max_len, approximate=True)  # type: ignore[arg-type]
        )
        return str(sid)

    async def open_or_update(self, alert: Alert, on_create: OnCreate | None = None) -> AlertOutcome:
        """Map the alert's group to exactly one incident and record the alert exactly once.

        A new incident is written in one script with what `on_create` adds (its escalation and
        provisioning timers), so no crash can leave an incident that nobody will page or provision.
        """
        if self.single_node:
            return await self._open_or_update_short(alert, on_create)
        group = self.keys.group(alert.group_key)
        for attempt in range(MAX_ATTEMPTS):
            owner = await self._call(self.redis.get(group))
            if owner is None:
                if alert.status is AlertStatus.RESOLVED:
                    return AlertOutcome(incident=None)
                token = claim_token()
                if await self._call(self.redis.set(group, token, nx=True, px=CLAIM_LEASE_MS)):
                    opened = await self._open_claimed(group, token, alert, on_create)
                    if opened is not None:
                        return opened
            elif not owner.startswith(CLAIM_PREFIX):
                outcome = await self._update_owned(group, owner, alert, on_create)
                if outcome is not None:
                    return outcome
            await _backoff(attempt)
        raise ConflictError(f"alert group {alert.group_key!r}: too many concurrent writers")

    # -- internals -----------------------------------------------------------

    async def _open_or_update_short(self, alert: Alert, on_create: OnCreate | None) -> AlertOutcome:
        """`open_or_update` on one node: a re-delivery costs one round trip, a new incident two."""
        group = self.keys.group(alert.group_key)
        fires = "0" if alert.status is AlertStatus.RESOLVED else "1"
        for attempt in range(MAX_ATTEMPTS):
            token = claim_token()
            reply = await self._call(
                self._lookup(
                    keys=[group, self.keys.incident_counter()],
                    args=[*self._owner_keys, alert.delivery_id(), fires, token, CLAIM_LEASE_MS],
                )
            )
            kind = reply[0]
            outcome: AlertOutcome | None = None
            if kind == "none":
                return AlertOutcome(incident=None)
            if kind == "claimed":
                outcome = await self._open_claimed(group, token, alert, on_create, number=int(reply[1]))
            elif kind == "dup" and not self._opens_anew(self._records.read(reply[2], reply[3]), alert):
                return AlertOutcome.duplicate(reply[1], reply[2], reply[3])
            elif kind in ("dup", "owned"):
                outcome = await self._update_owned(group, reply[1], alert, on_create, _load(reply[2], reply[3]))
            elif kind == "missing":
                outcome = await self._update_owned(group, reply[1], alert, on_create)
            if outcome is not None:
                return outcome
            await _backoff(attempt)
        raise ConflictError(f"alert group {alert.group_key!r}: too many concurrent writers")

    def _opens_anew(self, incident: Incident, alert: Alert) -> bool:
        """A firing alert on a closed incident past the reopen window opens a new one, re-delivered or not."""
        return (
            not incident.is_active
            and alert.status is AlertStatus.FIRING
            and not can_reopen(incident, self.clock(), self.reopen_window)
        )

    async def _open_claimed(
        self, group: str, token: str, alert: Alert, on_create: OnCreate | None = None, number: int | None = None
    ) -> AlertOutcome | None:
        """Write the new incident of a claimed group; None means the claim was lost (try again)."""
        if number is None:
            number = int(await self._call(self.redis.incr(self.keys.incident_counter())))
        now = self.clock()
        incident = new_incident(number, alert, now)
        events = [
            TimelineEvent(EventType.OPENED, incident.id, f"opened: {alert.title}", alert.source, at=now),
            TimelineEvent(
                EventType.ALERT,
                incident.id,
                f"{alert.status.value}: {alert.name}",
                alert.source,
                {
                    "fingerprint": alert.fingerprint,
                    "status": alert.status.value,
                    "delivery": alert.delivery_id(),
                },
                now,
            ),
        ]
        extra = on_create(incident) if on_create is not None else Creation()
        events += extra.events
        if self.single_node:
            if not await self._insert_owned(group, token, incident, events, alert.delivery_id(), extra.timers):
                return None
        else:
            await self._insert(incident, events, delivery_id=alert.delivery_id(), timers=extra.timers)
            await self._call(self._swap_owner(keys=[group], args=[token, incident.id, 0]))
        return AlertOutcome(incident=incident, created=True, recorded=True, status_changed=True)

    async def _update_owned(
        self,
        group: str,
        owner: str,
        alert: Alert,
        on_create: OnCreate | None = None,
        known: Incident | None = None,
    ) -> AlertOutcome | None:
        """Record the alert on the owning incident (read unless `known`); None means try again."""
        incident = known if known is not None else await self.get_incident(owner)
        if incident is None:
            # The map points at a missing incident: release it so the alert opens a fresh one.
            await self._call(self._swap_owner(keys=[group], args=[owner, "", 1]))
            return None
        now = self.clock()
        reopen = False
        if not incident.is_active and alert.status is AlertStatus.FIRING:
            if not can_reopen(incident, now, self.reopen_window):
                token = claim_token()
                if await self._call(self._swap_owner(keys=[group], args=[owner, token, CLAIM_LEASE_MS])):
                    return await self._open_claimed(group, token, alert, on_create)
                return None
            reopen = True
        before = incident.status
        version = incident.version
        events = apply_alert(incident, alert, now, reopen=reopen)
        if self.single_node:
            result = await self._record_on_one_node(incident, alert, version, events)
        else:
            result = await self._record_stepwise(incident, alert, version, events)
        if result == -1:
            current = await self.get_incident(owner)
            return AlertOutcome(incident=current)
        if result != 1:
            return None
        incident.version = version + 1
        self.on_move(before, incident, now)
        return AlertOutcome(
            incident=incident, reopened=reopen, recorded=True, status_changed=incident.status is not before
        )

    async def _record_stepwise(
        self, incident: Incident, alert: Alert, version: int, events: Sequence[TimelineEvent]
    ) -> int:
        """Record the alert (one slot), then index the incident; the script's reply."""
        result = await self._call(
            self._record(
                keys=[
                    self.keys.incident(incident.id),
                    self.keys.timeline(incident.id),
                    self.keys.alerts_seen(incident.id),
                ],
                args=[
                    alert.delivery_id(),
                    version,
                    _dump(incident),
                    self.timeline_max_len,
                    _events_json(events),
                ],
            )
        )
        if result == 1:
            await self._sync_open_index(incident)
        return int(result)

    async def _record_on_one_node(
        self, incident: Incident, alert: Alert, version: int, events: Sequence[TimelineEvent]
    ) -> int:
        """Record the alert and index the incident in one script; its reply."""
        k = self.keys
        keys = [k.incident(incident.id), k.timeline(incident.id), k.alerts_seen(incident.id), k.open_index()]
        is_open = "0" if incident.status is Status.CLOSED else "1"
        args: list[str | int] = [
            alert.delivery_id(),
            version,
            _dump(incident),
            self.timeline_max_len,
            _events_json(events),
        ]
        return int(await self._call(self._record_indexed(keys=keys, args=[*args, incident.id, is_open])))

    async def _insert_owned(
        self,
        group: str,
        token: str,
        incident: Incident,
        events: list[TimelineEvent],
        delivery_id: str,
        timers: Sequence[ArmRequest],
    ) -> bool:
        """Create, arm, index and own the group in one script while the claim holds; False when it was lost."""
        k = self.keys
        created = await self._call(
            self._create_owned(
                keys=[
                    k.incident(incident.id),
                    k.timeline(incident.id),
                    k.alerts_seen(incident.id),
                    group,
                    k.incident_index(),
                    k.open_index(),
                ],
                args=[
                    _dump(incident),
                    self.timeline_max_len,
                    _events_json(events),
                    delivery_id,
                    arm_specs(k, timers),
                    token,
                    incident.id,
                    incident.triggered_at.timestamp(),
                ],
            )
        )
        if created == -1:
            return False
        if created != 1:
            raise ConflictError(f"{incident.id} already exists", incident=incident.id)
        incident.version = 1
        return True

    async def _insert(
        self,
        incident: Incident,
        events: list[TimelineEvent],
        delivery_id: str,
        timers: Sequence[ArmRequest] = (),
    ) -> None:
        k = self.keys
        created = await self._call(
            self._create(
                keys=[
                    k.incident(incident.id),
                    k.timeline(incident.id),
                    k.alerts_seen(incident.id),
                ],
                args=[
                    _dump(incident),
                    self.timeline_max_len,
                    _events_json(events),
                    delivery_id,
                    arm_specs(k, inside(self.redis, timers)),
                ],
            )
        )
        if created != 1:
            raise ConflictError(f"{incident.id} already exists", incident=incident.id)
        # On a cluster the timers live in other slots: armed now, once the incident they act on exists.
        await self._call(arm_outside(self.redis, k, timers))
        incident.version = 1
        await self._call(self.redis.zadd(self.keys.incident_index(), {incident.id: incident.triggered_at.timestamp()}))
        await self._sync_open_index(incident)

    async def _sync_open_index(self, incident: Incident) -> None:
        if incident.status is Status.CLOSED:
            await self._call(self.redis.srem(self.keys.open_index(), incident.id))
        else:
            await self._call(self.redis.sadd(self.keys.open_index(), incident.id))

    @staticmethod
    async def _call(awaitable: Awaitable[Any]) -> Any:
        # redis-py types replies as bytes | str; with decode_responses they are str, so callers get Any.
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc


def _dump(incident: Incident) -> str:
    return incident.model_dump_json(exclude={"version"})


def _load(data: str, version: str) -> Incident:
    return load_incident(data, version)


def _split(key_of: Callable[[str], str]) -> list[str]:
    """The key before and after the incident id, so a script can build the key of an id it reads."""
    head, tail = key_of("\x00").split("\x00")
    return [head, tail]


def _events_json(events: Sequence[TimelineEvent]) -> str:
    return json.dumps([e.to_fields() for e in events])


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(min(0.05, 0.001 * (attempt + 1)) * random.uniform(0.5, 1.5))


def _ignore_move(before: Status, after: Incident, at: datetime) -> None:
    """The default status-move observer: nothing."""
