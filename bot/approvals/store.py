"""The approval store: approval requests, their plan-message groups and execution claims in Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.approvals import scripts
from bot.approvals.models import Approval, ApprovalStatus, idempotency_key
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys

# Requests stay readable this long after they were made: for re-rendering, the report and late clicks.
RETENTION_S = 7 * 86400


@dataclass(frozen=True)
class Recorded:
    """What recording one approval click did: `code` and the approvers so far."""

    code: str
    approved_by: list[str]


@dataclass
class ApprovalGroup:
    """The approvals one plan message shows, with what else it needs to render again."""

    id: str
    runbook_name: str
    approval_ids: list[str]
    notes: list[str] = field(default_factory=list)
    title: str = ""


class ApprovalStore:
    """Create, read and move approval requests; every state change is one Lua script."""

    def __init__(self, redis: Redis, keys: Keys | None = None, retention_s: int = RETENTION_S) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        self.retention_s = retention_s
        self._record = redis.register_script(scripts.RECORD_APPROVAL)
        self._claim = redis.register_script(scripts.CLAIM_EXECUTION)
        self._transition = redis.register_script(scripts.TRANSITION)
        self._expire = redis.register_script(scripts.EXPIRE)

    async def create(self, approvals: Sequence[Approval], group: ApprovalGroup | None = None) -> None:
        """Store new requests (and the message group showing them) with their retention."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for a in approvals:
                key = self.keys.approval(a.incident_id, a.id)
                pipe.hset(key, mapping=dict(a.to_fields()))  # type: ignore[arg-type]
                pipe.expire(key, self.retention_s)
                pipe.set(self.keys.approval_ref(a.id), a.incident_id, ex=self.retention_s)
                if a.kind.value != "rollback":
                    pipe.hset(self.keys.approval_steps(a.incident_id), a.step_id, a.id)
            if group is not None and approvals:
                gkey = self.keys.approval_group(approvals[0].incident_id, group.id)
                pipe.set(gkey, json.dumps(group.__dict__), ex=self.retention_s)
            await _call(pipe.execute())

    async def get(self, incident_id: str, approval_id: str) -> Approval | None:
        """The request, or None."""
        raw = await _call(self.redis.hgetall(self.keys.approval(incident_id, approval_id)))
        return Approval.from_fields(raw) if raw else None

    async def find(self, approval_id: str) -> Approval | None:
        """The request behind an opaque id (a button's value), or None."""
        incident_id = await _call(self.redis.get(self.keys.approval_ref(approval_id)))
        return await self.get(incident_id, approval_id) if incident_id else None

    async def get_group(self, incident_id: str, group_id: str) -> ApprovalGroup | None:
        """One plan message's group."""
        raw = await _call(self.redis.get(self.keys.approval_group(incident_id, group_id)))
        return ApprovalGroup(**json.loads(raw)) if raw else None

    async def get_many(self, incident_id: str, approval_ids: Sequence[str]) -> list[Approval]:
        """The requests that still exist, in the given order."""
        found = [await self.get(incident_id, a) for a in approval_ids]
        return [a for a in found if a is not None]

    async def bind_message(self, approvals: Sequence[Approval], channel: str, ts: str) -> None:
        """Remember where the requests are shown, so their message can be edited later."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for a in approvals:
                pipe.hset(self.keys.approval(a.incident_id, a.id), mapping={"channel": channel, "message_ts": ts})
                a.channel, a.message_ts = channel, ts
            await _call(pipe.execute())

    async def record_approval(self, approval: Approval, user: str, now: float) -> Recorded:
        """Add `user` as an approver if the request is open, unexpired and the policy's four-eyes allows it."""
        code, by = await _call(
            self._record(keys=[self.keys.approval(approval.incident_id, approval.id)], args=[user, now])
        )
        return Recorded(str(code), [u for u in str(by).split(",") if u])

    async def claim_execution(
        self, approval: Approval, owner: str, now: float, record: dict[str, str] | None = None
    ) -> str:
        """Claim the one execution of an approved request; 'ok' for exactly one caller, whatever the replica.

        `record` (lease, owner process) is written in the same script, so a claim never exists without it.
        """
        marker = self.keys.execution(approval.incident_id, idempotency_key(approval.id, approval.params_hash))
        keys = [self.keys.approval(approval.incident_id, approval.id), marker]
        pairs = [x for item in (record or {}).items() for x in item]
        return str(await _call(self._claim(keys=keys, args=[now, owner, self.retention_s * 1000, *pairs])))

    async def transition(
        self,
        approval: Approval,
        allowed: Sequence[ApprovalStatus],
        target: ApprovalStatus,
        now: float,
        check_expiry: bool = True,
        **fields: str,
    ) -> str:
        """Move the request to `target` if it is in one of `allowed` (and, if asked, unexpired)."""
        pairs = [x for item in fields.items() for x in item]
        args = [",".join(s.value for s in allowed), target.value, now, "1" if check_expiry else "0", *pairs]
        key = self.keys.approval(approval.incident_id, approval.id)
        return str(await _call(self._transition(keys=[key], args=args)))

    async def expire(self, incident_id: str, approval_id: str, now: float) -> bool:
        """Expire an open request whose time is up; True only for the caller that did it."""
        key = self.keys.approval(incident_id, approval_id)
        return bool(await _call(self._expire(keys=[key], args=[now])))

    async def latest_for_step(self, incident_id: str, step_id: str) -> Approval | None:
        """The newest request offered for a step of this incident."""
        approval_id = await _call(self.redis.hget(self.keys.approval_steps(incident_id), step_id))
        return await self.get(incident_id, approval_id) if approval_id else None

    async def mark_step_done(self, incident_id: str, step_id: str) -> None:
        """Remember that a step has run successfully (or was done by hand) in this incident."""
        await _call(self.redis.sadd(self.keys.steps_done(incident_id), step_id))

    async def done_steps(self, incident_id: str) -> set[str]:
        """Steps already done in this incident."""
        return set(await _call(self.redis.smembers(self.keys.steps_done(incident_id))))
