"""Policy rules beyond who: four-eyes, environment scopes, the kill switches and a per-hour rate limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.incidents.models import Incident
from bot.keys import Keys
from bot.runbooks.schema import Safety

HOUR_S = 3600.0


class Refusal(StrEnum):
    """Why an approval or execution was refused; the label of `runbook_refusals_total`."""

    NOT_APPROVER = "not_approver"
    SELF_MADE_COMMANDER = "self_made_commander"
    SELF_APPROVAL = "self_approval"
    SAME_APPROVER = "same_approver"
    ENVIRONMENT = "environment"
    PAUSED = "paused"
    KILL_SWITCH = "kill_switch"
    RATE_LIMITED = "rate_limited"
    EXPIRED = "expired"
    CHANGED = "changed"
    CLOSED = "closed"
    UNKNOWN = "unknown"


REFUSAL_TEXT = {
    Refusal.NOT_APPROVER: "you are not among the approvers of this step ({detail})",
    Refusal.SELF_MADE_COMMANDER: (
        "rule `self_made_commander`: you made yourself commander after this step was requested, so `role:commander`"
        " does not count for you; it needs a commander set by someone else or before the request ({detail})"
    ),
    Refusal.SELF_APPROVAL: "you requested this step, and it needs someone else's approval (four-eyes)",
    Refusal.SAME_APPROVER: "you have already approved it; a second, different person must approve too",
    Refusal.ENVIRONMENT: "this step may not run in {detail}",
    Refusal.PAUSED: "automation is paused on this incident (`/incident resume` lifts it)",
    Refusal.KILL_SWITCH: "the global kill switch is on (KILL_SWITCH): no action runs",
    Refusal.RATE_LIMITED: "rate limit reached: {detail}",
    Refusal.EXPIRED: "this approval request has expired; nothing ran",
    Refusal.CHANGED: "the step changed since it was offered ({detail}); nothing ran",
    Refusal.CLOSED: "this step is already {detail}",
    Refusal.UNKNOWN: "this approval request is unknown (it may be very old)",
}


def refusal_text(reason: Refusal, detail: str = "") -> str:
    """A sentence for the person whose click was refused."""
    return REFUSAL_TEXT[reason].format(detail=detail or "see the runbook")


def required_approvals(safety: Safety) -> int:
    """Two distinct approvers when four-eyes is configured, else one."""
    return 2 if safety.four_eyes else 1


def requester_excluded(safety: Safety) -> bool:
    """Whoever requested an irreversible or four-eyes step cannot approve it."""
    return safety.four_eyes or safety.irreversible


def allowed_environments(safety: Safety, runbook_environments: Sequence[str]) -> list[str]:
    """Where the step may run: its own scope, else the runbook's (empty: anywhere)."""
    return list(safety.environments or runbook_environments)


def environment_allowed(environment: str, allowed: Sequence[str]) -> bool:
    """Whether the incident's environment is within the step's scope."""
    return not allowed or environment in allowed


def kill_switch_refusal(global_switch: bool, incident: Incident) -> Refusal | None:
    """The kill switch that blocks execution, if any: the global one first, then the incident's pause."""
    if global_switch:
        return Refusal.KILL_SWITCH
    if incident.paused:
        return Refusal.PAUSED
    return None


# KEYS: window zset. ARGV: now (s), window (s), max, member. A member already counted is allowed again,
# so the claim retries of one approval never use two slots.
TAKE_SLOT = """
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""


@dataclass(frozen=True)
class RateDecision:
    """Whether a slot was granted, and how many runs the window holds."""

    allowed: bool
    used: int


class ActionRateLimit:
    """At most N runs of one action on one service per sliding hour, counted in Redis across replicas."""

    def __init__(self, redis: Redis, keys: Keys, window_s: float = HOUR_S) -> None:
        self.redis = redis
        self.keys = keys
        self.window_s = window_s
        self._take = redis.register_script(TAKE_SLOT)

    async def take(self, service: str, action: str, limit: int, member: str, now: float) -> RateDecision:
        """Take one slot for `member` (an approval id) unless `limit` runs already happened this hour."""
        key = self.keys.action_rate(service, action)
        granted = await _call(self._take(keys=[key], args=[now, self.window_s, limit, member]))
        used = await _call(self.redis.zcard(key))
        return RateDecision(bool(granted), int(used))
