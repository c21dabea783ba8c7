"""Display names of Slack users for documents read outside Slack (a Markdown post-mortem).

Each id is asked once with users.info through the gateway and remembered in memory and in Redis
(`NameCache`), so `runbookctl postmortem`, which makes no Slack call, names the same people. A lookup
that fails leaves the id as it is: a document with an id beats no document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.errors import UpstreamError
from bot.incidents.names import NameCache
from bot.slack.gateway import Priority, SlackGateway

log = logging.getLogger(__name__)


def display_name(user: dict[str, object]) -> str | None:
    """What Slack shows for a person: display name, else real name, else handle."""
    profile = user.get("profile")
    fields = profile if isinstance(profile, dict) else {}
    for value in (fields.get("display_name"), fields.get("real_name"), user.get("real_name"), user.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class SlackNames:
    """User id → display name, from users.info, cached in memory and in Redis."""

    def __init__(self, gateway: SlackGateway, cache: NameCache) -> None:
        self.gateway = gateway
        self.cache = cache
        self._known: dict[str, str] = {}

    async def display_names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The display name of every id Slack knows; unknown ids are left out."""
        wanted = set(user_ids)
        missing = sorted(wanted - self._known.keys())
        fresh: dict[str, str] = {}
        for user_id in missing:
            try:
                answer = await self.gateway.call("users.info", Priority.COSMETIC, user=user_id)
            except UpstreamError as exc:
                log.info("no display name", extra={"user": user_id, "reason": str(exc)})
                continue
            name = display_name(answer.get("user") or {})
            if name:
                fresh[user_id] = name
        if fresh:
            self._known.update(fresh)
            await self.cache.remember(fresh)
        return {u: self._known[u] for u in wanted if u in self._known}
