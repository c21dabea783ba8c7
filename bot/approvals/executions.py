"""The execution record of an approved step in Redis: owner, lease, process group, and the index that finds it.

The record lives in the approval hash itself (so a status move and its lease are one script); an index
sorted set scored by lease expiry lets any replica find executions whose owner stopped renewing. Process
groups are also kept per host scope (boot id + PID namespace): only a replica there can reap them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.approvals import exec_scripts
from bot.approvals.localproc import ProcessId
from bot.connections import Redis
from bot.connections import redis_call as _call
from bot.keys import Keys


@dataclass(frozen=True)
class Owner:
    """The replica running a step: its id in the record, and the process a same-host restart can check."""

    replica: str
    scope: str
    process: ProcessId


@dataclass(frozen=True)
class ExecutionRef:
    """One entry of the execution index."""

    incident_id: str
    approval_id: str
    due: float

    @property
    def member(self) -> str:
        """The index member (incident ids never contain '/')."""
        return f"{self.incident_id}/{self.approval_id}"


@dataclass(frozen=True)
class ExecutionRecord:
    """What the approval hash says about one execution."""

    incident_id: str
    approval_id: str
    status: str
    owner: str
    lease_until: float
    scope: str
    owner_process: ProcessId
    group: ProcessId | None
    fields: dict[str, str]

    @classmethod
    def from_fields(cls, incident_id: str, approval_id: str, raw: dict[str, str]) -> ExecutionRecord:
        """Read the execution part of an approval hash."""
        pgid = int(raw.get("pgid") or 0)
        return cls(
            incident_id=incident_id,
            approval_id=approval_id,
            status=raw.get("status", ""),
            owner=raw.get("executor", ""),
            lease_until=float(raw.get("lease_until") or 0.0),
            scope=raw.get("owner_scope", ""),
            owner_process=ProcessId(int(raw.get("owner_pid") or 0), int(raw.get("owner_start") or 0)),
            group=ProcessId(pgid, int(raw.get("pgid_start") or 0)) if pgid else None,
            fields=raw,
        )


@dataclass(frozen=True)
class GroupRecord:
    """A process group a step started on this host, and the bot process that started it."""

    approval_id: str
    incident_id: str
    group: ProcessId
    owner: ProcessId

    @classmethod
    def from_json(cls, approval_id: str, text: str) -> GroupRecord:
        """Read one entry of the reaping list."""
        entry = json.loads(text)
        return cls(
            approval_id,
            str(entry["incident"]),
            ProcessId(int(entry["pgid"]), int(entry["start"])),
            ProcessId(int(entry["owner_pid"]), int(entry["owner_start"])),
        )


def claim_fields(owner: Owner, now: float, lease_s: float, timeout_s: float) -> dict[str, str]:
    """The execution record written together with the claim."""
    return {
        "lease_until": repr(now + lease_s),
        "exec_started_at": repr(now),
        "exec_deadline": repr(now + timeout_s),
        "owner_scope": owner.scope,
        "owner_pid": str(owner.process.pid),
        "owner_start": str(owner.process.start),
    }


class ExecutionStore:
    """Reads and moves execution records; every status move is one script on the approval hash."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._renew = redis.register_script(exec_scripts.RENEW)
        self._settle = redis.register_script(exec_scripts.SETTLE_LOST)
        self._notice = redis.register_script(exec_scripts.CLAIM_NOTICE)

    async def enlist(self, incident_id: str, approval_id: str, due: float) -> None:
        """Put an execution in the index (before it is claimed, so a claimed one is never missing from it)."""
        member = ExecutionRef(incident_id, approval_id, due).member
        await _call(self.redis.zadd(self.keys.executions(), {member: due}))

    async def discharge(self, incident_id: str, approval_id: str) -> None:
        """Drop an execution from the index: it is settled and announced."""
        await _call(self.redis.zrem(self.keys.executions(), ExecutionRef(incident_id, approval_id, 0).member))

    async def due(self, now: float, limit: int = 200) -> list[ExecutionRef]:
        """Index entries whose lease (or retry time) has passed, oldest first."""
        rows = await _call(
            self.redis.zrangebyscore(self.keys.executions(), "-inf", now, start=0, num=limit, withscores=True)
        )
        return [_ref(member, score) for member, score in rows]

    async def everything(self) -> list[ExecutionRef]:
        """Every index entry (start-up looks at all of them)."""
        rows = await _call(self.redis.zrange(self.keys.executions(), 0, -1, withscores=True))
        return [_ref(member, score) for member, score in rows]

    async def get(self, incident_id: str, approval_id: str) -> ExecutionRecord | None:
        """The execution record, or None when the approval is gone."""
        raw = await _call(self.redis.hgetall(self.keys.approval(incident_id, approval_id)))
        return ExecutionRecord.from_fields(incident_id, approval_id, raw) if raw else None

    async def renew(self, incident_id: str, approval_id: str, owner: str, lease_until: float) -> str:
        """The owner's heartbeat: 'ok' while it still holds the execution, else why not."""
        key = self.keys.approval(incident_id, approval_id)
        code = str(await _call(self._renew(keys=[key], args=[owner, repr(lease_until)])))
        if code == "ok":
            await self.enlist(incident_id, approval_id, lease_until)
        return code

    async def settle_lost(self, incident_id: str, approval_id: str, now: float, dead_owner: str, result: str) -> str:
        """Mark an execution whose owner is gone as `unknown`; 'settled' only for the call that did it."""
        key = self.keys.approval(incident_id, approval_id)
        return str(await _call(self._settle(keys=[key], args=[repr(now), dead_owner, result])))

    async def claim_notice(self, incident_id: str, approval_id: str, now: float, hold_s: float) -> str:
        """Take the right to announce an unsettled outcome for `hold_s`; 'ok' for one caller at a time."""
        key = self.keys.approval(incident_id, approval_id)
        return str(await _call(self._notice(keys=[key], args=[repr(now), repr(now + hold_s)])))

    async def mark(self, incident_id: str, approval_id: str, **fields: str) -> None:
        """Set markers on the record (what has been done already, so a retry skips it)."""
        await _call(self.redis.hset(self.keys.approval(incident_id, approval_id), mapping=fields))  # type: ignore[arg-type]

    async def record_group(self, incident_id: str, approval_id: str, owner: Owner, group: ProcessId) -> None:
        """Remember a process group a step started, on its record and in its host scope's reaping list."""
        fields = {"pgid": str(group.pid), "pgid_start": str(group.start)}
        entry = {
            "incident": incident_id,
            "pgid": group.pid,
            "start": group.start,
            "owner_pid": owner.process.pid,
            "owner_start": owner.process.start,
        }
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(self.keys.approval(incident_id, approval_id), mapping=fields)  # type: ignore[arg-type]
            if owner.scope:
                pipe.hset(self.keys.process_groups(owner.scope), approval_id, json.dumps(entry))
            await _call(pipe.execute())

    async def forget_group(self, approval_id: str, scope: str) -> None:
        """The step's process group is dead (its runner killed it): nothing to reap."""
        if scope:
            await _call(self.redis.hdel(self.keys.process_groups(scope), approval_id))

    async def groups_in(self, scope: str) -> list[GroupRecord]:
        """Process groups recorded in this host scope and not yet forgotten."""
        raw = await _call(self.redis.hgetall(self.keys.process_groups(scope))) if scope else {}
        return [GroupRecord.from_json(approval_id, text) for approval_id, text in raw.items()]


def _ref(member: str, score: float) -> ExecutionRef:
    incident_id, _, approval_id = member.partition("/")
    return ExecutionRef(incident_id, approval_id, float(score))
