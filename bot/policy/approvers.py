"""Who may approve a step: Slack users (`U…`), user groups (`S…` or `@handle`) and incident roles (`role:…`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import BotError, InvalidInput
from bot.incidents.models import Incident

log = logging.getLogger(__name__)

# Resolves a user group (an `S…` id or an `@handle`) to its members; the Slack edge supplies one.
MembershipResolver = Callable[[str], Awaitable[frozenset[str]]]


class EntryKind(StrEnum):
    """What one approvers entry names."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"


class Role(StrEnum):
    """Incident roles an approvers entry may name."""

    COMMANDER = "commander"
    ONCALL = "oncall"


@dataclass(frozen=True)
class ApproverEntry:
    """One parsed approvers entry."""

    kind: EntryKind
    value: str

    def __str__(self) -> str:
        if self.kind is EntryKind.USER:
            return f"<@{self.value}>"
        if self.kind is EntryKind.GROUP:
            return f"<!subteam^{self.value}>" if self.value.startswith("S") else self.value
        return f"the {self.value}"


def parse_entry(text: str) -> ApproverEntry:
    """Parse `U…`/`W…`, `S…`, `@handle` or `role:commander|oncall`; raises InvalidInput otherwise."""
    raw = text.strip()
    if raw.startswith("role:"):
        name = raw[5:]
        if name not in Role.__members__.values():
            raise InvalidInput(f"unknown role {name!r} in approvers: use role:commander or role:oncall")
        return ApproverEntry(EntryKind.ROLE, name)
    if raw.startswith("@") and len(raw) > 1:
        return ApproverEntry(EntryKind.GROUP, raw)
    if raw[:1] in ("U", "W") and raw[1:].isalnum():
        return ApproverEntry(EntryKind.USER, raw)
    if raw[:1] == "S" and raw[1:].isalnum():
        return ApproverEntry(EntryKind.GROUP, raw)
    raise InvalidInput(f"approvers entry {raw!r} is not a user id, a user group or a role", fields=["approvers"])


def parse_entries(entries: Sequence[str]) -> list[ApproverEntry]:
    """Parse every entry; raises InvalidInput on the first bad one."""
    return [parse_entry(e) for e in entries]


@dataclass(frozen=True)
class ApproverPolicy:
    """Who may approve one step; an empty policy lets anyone in the workspace approve."""

    entries: tuple[ApproverEntry, ...]
    oncall_group: str | None = None

    @classmethod
    def from_strings(cls, entries: Sequence[str], oncall_group: str | None = None) -> ApproverPolicy:
        """Build from a runbook's `safety.approvers`."""
        return cls(tuple(parse_entries(entries)), oncall_group)

    def describe(self) -> str:
        """The policy in words for Slack messages."""
        return ", ".join(str(e) for e in self.entries) if self.entries else "anyone"

    async def allows(
        self, user: str, incident: Incident, members: MembershipResolver, requested_at: float | None = None
    ) -> bool:
        """Whether `user` may approve; a group that cannot be resolved grants nothing (fail closed)."""
        if not self.entries:
            return True
        for entry in self.entries:
            if await self._matches(entry, user, incident, members, requested_at):
                return True
        return False

    async def explain(self, members: MembershipResolver) -> str:
        """describe(), plus the groups that cannot be resolved now (so a refusal names them)."""
        broken = []
        for entry in self.entries:
            if entry.kind is EntryKind.GROUP:
                try:
                    await members(entry.value)
                except BotError as exc:
                    broken.append(f"{entry.value} ({exc})")
        text = self.describe()
        return text + (f"; cannot resolve the user group {', '.join(broken)}" if broken else "")

    def names_commander(self) -> bool:
        """Whether `role:commander` is among the entries."""
        return any(e.kind is EntryKind.ROLE and e.value == Role.COMMANDER for e in self.entries)

    async def _matches(
        self,
        entry: ApproverEntry,
        user: str,
        incident: Incident,
        members: MembershipResolver,
        requested_at: float | None,
    ) -> bool:
        if entry.kind is EntryKind.USER:
            return user == entry.value
        if entry.kind is EntryKind.ROLE and entry.value == Role.COMMANDER:
            return incident.commander == user and not self_granted_commander(incident, user, requested_at)
        if entry.kind is EntryKind.ROLE:
            if user in incident.responders:
                return True
            return self.oncall_group is not None and user in await _members(members, self.oncall_group)
        return user in await _members(members, entry.value)


def self_granted_commander(incident: Incident, user: str, requested_at: float | None) -> bool:
    """Whether `user` made themselves commander at or after the request: then role:commander grants nothing.

    A commander counts for an approval only when someone else set them, or they were set before the request.
    """
    if incident.commander != user or incident.commander_set_by != user:
        return False
    if requested_at is None:
        return True  # no request time to compare with: fail closed
    set_at = incident.commander_set_at or incident.triggered_at
    return set_at.timestamp() >= requested_at


async def _members(resolver: MembershipResolver, group: str) -> frozenset[str]:
    try:
        return await resolver(group)
    except BotError as exc:
        log.warning(
            "cannot resolve user group %s; it grants no approval: %s",
            group,
            exc,
            extra={"group": group, "error": str(exc)},
        )
        return frozenset()
