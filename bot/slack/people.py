"""Who a typed name means: `<@U…>` mentions, `@handle`, display or real names, and emails, to Slack user ids.

Slack sends `@carol` as plain text when the app's manifest has `should_escape: false` (as shipped), and people
type display names ("@Carol Tanaka") or emails as often as handles. Names are matched case-insensitively
against `users.list` (paginated, cached for a while); emails go to `users.lookupByEmail`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.errors import InvalidInput, UpstreamError
from bot.slack.escape import escape_text

if TYPE_CHECKING:
    from bot.services import BotServices
    from bot.slack.gateway import SlackGateway

DIRECTORY_TTL_S = 300.0
# A name not found in a cached list is looked up again, but not more often than this (someone may just have joined).
MISS_REFRESH_S = 30.0
PAGE_SIZE = 200
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_NAME_FIELDS = ("name", "real_name")
_PROFILE_FIELDS = ("display_name", "real_name", "display_name_normalized", "real_name_normalized")


def mentioned_user(word: str) -> str | None:
    """The user id of a `<@U…>` or `<@U…|name>` mention, if the text is exactly one."""
    match = _MENTION.match(word.strip())
    return match.group(1) if match else None


def names_of(member: dict[str, Any]) -> set[str]:
    """Every lower-cased name a person may be called by: handle, real name, display name."""
    profile = member.get("profile") or {}
    found = [member.get(f) for f in _NAME_FIELDS] + [profile.get(f) for f in _PROFILE_FIELDS]
    return {str(n).strip().lower() for n in found if n and str(n).strip()}


class PeopleDirectory:
    """Resolves what a person typed to one user id; the workspace's member list is cached for `ttl_s`."""

    def __init__(
        self, gateway: SlackGateway, clock: Callable[[], float] = time.monotonic, ttl_s: float = DIRECTORY_TTL_S
    ) -> None:
        self.gateway = gateway
        self.clock = clock
        self.ttl_s = ttl_s
        self._members: list[dict[str, Any]] = []
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def resolve(self, typed: str) -> str:
        """The user id for `<@U…>`, `@name`, `name`, `@Display Name` or an email; InvalidInput naming it otherwise."""
        text = typed.strip()
        user = mentioned_user(text)
        if user is not None:
            return user
        if _EMAIL.match(text):
            return await self._by_email(text)
        name = text.removeprefix("@").strip().lower()
        if not name:
            raise InvalidInput("name a person: `@carol`, their display name or their email", ["user"])
        matches = await self._by_name(name)
        if not matches and self._may_refresh_on_miss():
            matches = await self._by_name(name, refresh=True)
        if len(matches) > 1:
            who = ", ".join(f"<@{m}>" for m in sorted(matches))
            raise InvalidInput(f"`{escape_text(text)}` could mean {who}: pick one with their @handle", ["user"])
        if not matches:
            raise InvalidInput(
                f"no one in this workspace is called `{escape_text(text)}`: "
                "use their @handle, display name, full name or email",
                ["user"],
            )
        return matches.pop()

    async def _by_email(self, email: str) -> str:
        try:
            response = await self.gateway.call("users.lookupByEmail", email=email)
        except UpstreamError as exc:
            if exc.details.get("slack_error") == "users_not_found":
                raise InvalidInput(f"no one in this workspace has the email `{escape_text(email)}`", ["user"]) from None
            raise
        return str(response["user"]["id"])

    async def _by_name(self, name: str, refresh: bool = False) -> set[str]:
        members = await self._list(refresh)
        return {str(m["id"]) for m in members if name in names_of(m)}

    def _may_refresh_on_miss(self) -> bool:
        return self._loaded_at is not None and self.clock() - self._loaded_at >= MISS_REFRESH_S

    async def _list(self, refresh: bool) -> list[dict[str, Any]]:
        # One load at a time: a burst of commands after expiry makes one users.list walk, not many.
        async with self._lock:
            fresh = self._loaded_at is not None and self.clock() - self._loaded_at < self.ttl_s
            if fresh and not refresh:
                return self._members
            members: list[dict[str, Any]] = []
            cursor = ""
            while True:
                response = await self.gateway.call("users.list", limit=PAGE_SIZE, cursor=cursor)
                members += [m for m in response.get("members", []) if not m.get("deleted") and not m.get("is_bot")]
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    break
            self._members, self._loaded_at = members, self.clock()
            return members


def people_of(services: BotServices) -> PeopleDirectory:
    """The services' people directory, built on first use when the composition root did not set one."""
    if services.people is None:
        services.people = PeopleDirectory(services.gateway)
    directory: PeopleDirectory = services.people
    return directory
