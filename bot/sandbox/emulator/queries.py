"""Reading the emulated workspace: channels, messages, ephemerals, views, and waiting for them to appear."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from bot.sandbox.emulator.errors import EmulatorError, EmulatorTimeout
from bot.sandbox.emulator.matching import Match, matches
from bot.sandbox.emulator.records import Channel, Ephemeral, Message, View
from bot.sandbox.emulator.socket_mode import Connection, SocketHub
from bot.sandbox.emulator.state import Workspace

T = TypeVar("T")


class WorkspaceQueries:
    """Inspection and wait_* helpers shared by SlackEmulator; reads `workspace` and `hub`."""

    workspace: Workspace
    hub: SocketHub

    # --- inspection ---------------------------------------------------------------------------------------------

    def channel(self, ref: str) -> Channel:
        """A channel by id or name (archived included); EmulatorError if none."""
        return self.workspace.channel_or_raise(ref)

    def find_channel(self, ref: str) -> Channel | None:
        """A channel by id or name, or None."""
        return self.workspace.find_channel(ref)

    def channels(self, *, include_archived: bool = True) -> list[Channel]:
        """Every channel (not DMs), oldest first."""
        return [
            c
            for c in self.workspace.channels.values()
            if not (c.is_im or c.is_mpim) and (include_archived or not c.is_archived)
        ]

    def messages(self, channel: str, *, include_system: bool = False, include_replies: bool = True) -> list[Message]:
        """Live messages of a channel, oldest first; join/topic notices only with include_system."""
        return [
            m
            for m in self.channel(channel).messages
            if not m.deleted
            and (include_system or m.subtype is None)
            and (include_replies or m.thread_ts in (None, m.ts))
        ]

    def message(self, channel: str, ts: str) -> Message:
        """One live message by ts; EmulatorError if none."""
        message = self.channel(channel).find_message(ts)
        if message is None:
            raise EmulatorError(f"no message {ts} in {channel}")
        return message

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages, optionally for one user and/or one channel."""
        user_id = self.workspace.user_or_raise(user).id if user else None
        channel_id = self.channel(channel).id if channel else None
        return [
            e
            for e in self.workspace.ephemerals
            if not e.deleted and user_id in (None, e.user) and channel_id in (None, e.channel_id)
        ]

    def views(self, user: str | None = None, *, open_only: bool = False) -> list[View]:
        """Views (modals and Home tabs) in the order opened."""
        user_id = self.workspace.user_or_raise(user).id if user else None
        return [
            v for v in self.workspace.views.values() if user_id in (None, v.user_id) and not (open_only and v.closed)
        ]

    def dm(self, user: str) -> Channel | None:
        """The bot's DM channel with a user, if opened."""
        user_id = self.workspace.user_or_raise(user).id
        return next((c for c in self.workspace.channels.values() if c.is_im and c.im_user == user_id), None)

    # --- waiting ------------------------------------------------------------------------------------------------

    async def wait_until(self, probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:  # noqa: ASYNC109
        """Re-check `probe` on every change until it returns something truthy; EmulatorTimeout otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorTimeout(f"timed out after {timeout}s waiting for {what}")
            await self.workspace.wait_changed(min(remaining, 0.25))

    async def wait_for_channel(self, name: str, timeout: float = 5.0) -> Channel:  # noqa: ASYNC109
        """Wait until a channel with this name (or id) exists."""
        return await self.wait_until(lambda: self.find_channel(name), timeout, f"channel {name!r}")

    async def wait_for_message(
        self,
        channel: str,
        match: Match = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        include_system: bool = False,
    ) -> Message:
        """Wait until a message matching `match` is in the channel (which may not exist yet)."""

        def probe() -> Message | None:
            if self.find_channel(channel) is None:
                return None
            found = [m for m in self.messages(channel, include_system=include_system) if matches(m, match)]
            return found[-1] if found else None

        return await self.wait_until(probe, timeout, f"a message matching {match!r} in {channel!r}")

    async def wait_for_ephemeral(self, user: str, match: Match = None, timeout: float = 5.0) -> Ephemeral:  # noqa: ASYNC109
        """Wait until the user has an ephemeral message matching `match`."""

        def probe() -> Ephemeral | None:
            found = [e for e in self.ephemerals(user) if matches(e, match)]
            return found[-1] if found else None

        try:
            return await self.wait_until(probe, timeout, f"an ephemeral for {user!r} matching {match!r}")
        except EmulatorTimeout as exc:
            # Say what the person did get: a reply worded otherwise, or an error, is then plain to see.
            got = [(e.text or "")[:200] for e in self.ephemerals(user)][-5:]
            raise EmulatorTimeout(f"{exc}; the last ephemerals {user!r} got: {got}") from None

    async def wait_for_view(self, user: str, timeout: float = 5.0, callback_id: str | None = None) -> View:  # noqa: ASYNC109
        """Wait until the user has an open modal (with this callback_id, if given); the newest one."""

        def probe() -> View | None:
            found = [
                v
                for v in self.views(user, open_only=True)
                if v.type == "modal" and callback_id in (None, v.definition.get("callback_id"))
            ]
            return found[-1] if found else None

        return await self.wait_until(probe, timeout, f"an open modal for {user!r}")

    async def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> list[Connection]:  # noqa: ASYNC109
        """Wait until at least `count` live Socket Mode connections are open."""
        return await self.wait_until(
            lambda: self.hub.live() if len(self.hub.live()) >= count else None, timeout, f"{count} socket(s)"
        )
