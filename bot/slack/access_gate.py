"""The Slack edge of access: resolve a person's roles at the moment of the action, ask `decide`, audit refusals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bot.alerts import utcnow
from bot.errors import BotError, NotPermitted
from bot.escalation.schedule import on_call
from bot.incidents.models import AuditEvent, Incident
from bot.incidents.store import IncidentStore
from bot.policy.access import (
    AccessPolicy,
    AccessRole,
    Actor,
    IncidentFacts,
    Refusal,
    allowed_roles,
    decide,
)
from bot.policy.access_file import AccessBook, access_path
from bot.policy.clicks import CLICK_RULE, click_allowed, click_refusal_text
from bot.slack.gateway import Priority
from bot.slack.oncall import schedules_for

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)
# A role lookup holds a person's click or command: if Slack cannot answer soon, the role is not granted.
ROLE_LOOKUP_DEADLINE_S = 10.0

R = AccessRole
DENIED = "access.denied"


class AccessGate:
    """Every command and click asks `check` first; a refusal is audited and raised as NotPermitted."""

    def __init__(self, services: BotServices, book: AccessBook, clock: Callable[[], datetime] = utcnow) -> None:
        self.services = services
        self.book = book
        self.clock = clock

    @classmethod
    def for_services(cls, services: BotServices) -> AccessGate:
        """The gate of a deployment: its access file beside the runbooks."""
        return cls(services, AccessBook(access_path(services.settings.runbooks_path)))

    def policy(self) -> AccessPolicy:
        """The access policy in force now."""
        return self.book.policy()

    async def require(
        self, user: str, action: str, incident: Incident | None, channel: str, service: str | None = None
    ) -> None:
        """Raise NotPermitted (after auditing it) unless `user` may take `action` on `incident` now."""
        refusal = await self.check(user, action, incident, channel, service)
        if refusal is not None:
            raise NotPermitted(refusal.text(), rule=refusal.rule)

    async def check(
        self, user: str, action: str, incident: Incident | None, channel: str, service: str | None = None
    ) -> Refusal | None:
        """The refusal (audited) when `user` may not take `action`, else None."""
        policy = self.policy()
        facts: IncidentFacts | None = incident
        _, needed = allowed_roles(action, facts, policy)
        roles = frozenset() if R.ANYONE in needed else await self.roles(user, incident, service, needed)
        decision = decide(Actor(user, roles), action, facts, policy)
        if not isinstance(decision, Refusal):
            return None
        data = {"action": action, "rule": decision.rule, "channel": channel, "allowed": [r.value for r in needed]}
        await self.services.store.audit(
            AuditEvent(DENIED, user, decision.rule, incident.id if incident else None, data=data)
        )
        log.info("access denied", extra={"user": user, **data})
        return decision

    async def check_click(self, approval_id: str, user: str, channel: str) -> str | None:
        """The refusal text (audited) when a click on `approval_id` comes from outside its incident's channels."""
        approvals = self.services.approvals
        approval = await approvals.store.find(approval_id) if approvals is not None else None
        if approval is None:
            return None  # unknown ids are refused by the approval flow itself, which says so
        store = self.services.store
        incident = await store.get_incident(approval.incident_id)
        if incident is None:
            return None
        dms = await _smembers(store, store.keys.incident_dms(incident.id))
        if click_allowed(channel, (approval.channel, incident.channel_id or ""), dms):
            return None
        data = {"action": "click", "rule": CLICK_RULE, "channel": channel, "approval": approval_id}
        await store.audit(AuditEvent(DENIED, user, CLICK_RULE, incident.id, step=approval.step_id, data=data))
        log.info("click refused", extra={"user": user, **data})
        return click_refusal_text(incident.id)

    async def click_in_place(self, incident: Incident, user: str, channel: str, action: str) -> bool:
        """Whether a click acting on `incident` came from its channel (or a DM the bot sent for it); else audited."""
        store = self.services.store
        dms = await _smembers(store, store.keys.incident_dms(incident.id))
        if click_allowed(channel, (incident.channel_id or "",), dms):
            return True
        data = {"action": action, "rule": CLICK_RULE, "channel": channel}
        await store.audit(AuditEvent(DENIED, user, CLICK_RULE, incident.id, data=data))
        log.info("click refused", extra={"user": user, **data})
        return False

    async def roles(
        self, user: str, incident: Incident | None, service: str | None, needed: tuple[AccessRole, ...]
    ) -> frozenset[AccessRole]:
        """The roles `user` holds now among those that matter; cheap checks first, Slack calls only when needed."""
        held: set[AccessRole] = set()
        if incident is not None and incident.commander == user:
            held |= {R.COMMANDER, R.RESPONDER}
        if R.INCIDENT_ADMIN in needed and await self._is_admin(user):
            held.add(R.INCIDENT_ADMIN)
        wants_oncall = R.ONCALL in needed or (R.RESPONDER in needed and R.RESPONDER not in held)
        if wants_oncall and self._on_call(user, service or (incident.service if incident else None)):
            held |= {R.ONCALL, R.RESPONDER}
        responder_unknown = R.RESPONDER in needed and R.RESPONDER not in held
        if responder_unknown and incident is not None and await self._is_responder(user, incident):
            held.add(R.RESPONDER)
        return frozenset(held)

    async def _is_admin(self, user: str) -> bool:
        for entry in self.policy().incident_admins:
            if entry == user or (not entry.startswith(("U", "W")) and user in await self._group(entry)):
                return True
        return False

    def _on_call(self, user: str, service: str | None) -> bool:
        config = self.services.escalation_config
        if config is None or not service:
            return False
        now = self.clock()
        return any(on_call(config.schedules[name], now) == user for name in schedules_for(config, service))

    async def _is_responder(self, user: str, incident: Incident) -> bool:
        if user in incident.responders:
            return True
        store = self.services.store
        try:
            if await store.redis.sismember(store.keys.incident_paged(incident.id), user):
                return True
        except RedisError as exc:
            log.warning("cannot read who was paged", extra={"incident": incident.id, "error": str(exc)})
        group = self.services.settings.responder_usergroup
        if group and user in await self._group(group):
            return True
        return incident.channel_id is not None and user in await self._channel_members(incident.channel_id)

    async def _group(self, group: str) -> frozenset[str]:
        """Members of a user group (S… id or @handle); a group that cannot be read grants nothing."""
        try:
            approvals = self.services.approvals
            if approvals is not None:
                return await approvals.presenter.members(group)  # cached briefly
            response = await self.services.gateway.call(
                "usergroups.users.list", deadline_s=ROLE_LOOKUP_DEADLINE_S, usergroup=group
            )
            return frozenset(str(u) for u in response.get("users", []))
        except BotError as exc:
            log.warning("cannot resolve user group; it grants no role", extra={"group": group, "error": str(exc)})
            return frozenset()

    async def _channel_members(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = ""
        try:
            while True:
                page: dict[str, str] = {"cursor": cursor} if cursor else {}
                response = await self.services.gateway.call(
                    "conversations.members", Priority.NORMAL, deadline_s=ROLE_LOOKUP_DEADLINE_S, channel=channel, **page
                )
                members |= {str(m) for m in response.get("members", [])}
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    return frozenset(members)
        except BotError as exc:
            log.warning("cannot list channel members; membership grants no role", extra={"error": str(exc)})
            return frozenset()


async def _smembers(store: IncidentStore, key: str) -> frozenset[str]:
    try:
        return frozenset(str(m) for m in await store.redis.smembers(key))
    except RedisError as exc:
        log.warning("cannot read a set; it grants nothing", extra={"key": key, "error": str(exc)})
        return frozenset()


async def remember_dm(store: IncidentStore, incident_id: str, channel: str) -> None:
    """Record a DM the bot wrote to for this incident, so clicks there count (a failure only loses that)."""
    try:
        await store.redis.sadd(store.keys.incident_dms(incident_id), channel)
    except RedisError as exc:
        log.warning("cannot record a DM channel", extra={"incident": incident_id, "error": str(exc)})


def gate_of(services: BotServices) -> AccessGate:
    """The services' access gate, built on first use when the composition root did not set one."""
    if services.access is None:
        services.access = AccessGate.for_services(services)
    gate: AccessGate = services.access
    return gate
