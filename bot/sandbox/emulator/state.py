"""The emulated workspace: ids, timestamps, users, groups, channels, views, triggers and lookups."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.emulator.doc_records import Documents
from bot.sandbox.emulator.errors import EmulatorError, SlackApiFailure
from bot.sandbox.emulator.records import Channel, Ephemeral, Message, User, UserGroup, View
from bot.waits import wait_event

TRIGGER_TTL_S = 3.0


def random_id(prefix: str, length: int = 10) -> str:
    """A Slack-looking id: a type letter and upper-case hex, e.g. C4F1A09B2E3."""
    return prefix + secrets.token_hex(length).upper()[: length - 1]


@dataclass
class Trigger:
    """A trigger_id handed to the app with an interaction; valid a few seconds, once."""

    id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class Workspace:
    """Everything the emulated Slack knows; mutated only through the Web API, the driver and seeding."""

    team_id: str
    team_domain: str
    app_id: str
    bot_user_id: str
    bot_id: str
    clock: Callable[[], float] = time.time
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, UserGroup] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    trigger_ttl: float = TRIGGER_TTL_S
    # Where events caused by Web API calls go (the driver sends them over Socket Mode); None drops them.
    event_sink: Callable[[dict[str, Any]], object] | None = None
    documents: Documents = field(default_factory=Documents)
    _last_ts: int = 0
    _changed: asyncio.Event | None = None

    # --- time and ids -------------------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message timestamp like "1732350000.000100", strictly increasing across the workspace."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def issue_trigger(self, user_id: str) -> str:
        """A new trigger_id for an interaction by this user."""
        trigger_id = f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, time.monotonic())
        return trigger_id

    def consume_trigger(self, trigger_id: str | None) -> Trigger:
        """Use a trigger_id once; raise invalid_trigger_id or expired_trigger_id as Slack does."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger.used or time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        trigger.used = True
        return trigger

    def emit(self, event: dict[str, Any]) -> None:
        """Hand an event caused by a Web API call to the event sink."""
        if self.event_sink is not None:
            self.event_sink(event)

    # --- change notification ------------------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake everyone waiting for the workspace to change."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_changed(self, seconds: float) -> None:
        """Return when the workspace changes or `seconds` pass, whichever is first."""
        if self._changed is None:
            self._changed = asyncio.Event()
        event = self._changed
        await wait_event(event, seconds)

    # --- users and groups ---------------------------------------------------------------------------------------

    def add_user(self, user: User) -> User:
        """Add or replace a user."""
        self.users[user.id] = user
        return user

    def add_group(self, group: UserGroup) -> UserGroup:
        """Add or replace a user group."""
        self.groups[group.id] = group
        return group

    def find_user(self, ref: str) -> User | None:
        """A user by id, name or email."""
        if ref in self.users:
            return self.users[ref]
        ref = ref.lstrip("@")
        return next((u for u in self.users.values() if ref in (u.name, u.email)), None)

    def user_or_raise(self, ref: str) -> User:
        """A user by id, name or email, or EmulatorError."""
        user = self.find_user(ref)
        if user is None:
            raise EmulatorError(f"no user {ref!r} in the emulated workspace", known=sorted(self.users))
        return user

    # --- channels -----------------------------------------------------------------------------------------------

    def find_channel(self, ref: str) -> Channel | None:
        """A channel by id, by name or by "#name"; archived channels included."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def channel_or_raise(self, ref: str) -> Channel:
        """A channel by id or name, or EmulatorError."""
        channel = self.find_channel(ref)
        if channel is None:
            names = sorted(c.name for c in self.channels.values() if not c.is_im)
            raise EmulatorError(f"no channel {ref!r} in the emulated workspace", known=names)
        return channel

    def api_channel(self, ref: str | None) -> Channel:
        """The channel a Web API call names by id, or channel_not_found."""
        channel = self.channels.get(ref or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        return channel

    def create_channel(
        self, name: str, creator: str, *, is_private: bool = False, members: Iterable[str] = ()
    ) -> Channel:
        """Create a channel (name already checked); raise name_taken, archived channels included."""
        if self.find_channel(name) is not None:
            raise SlackApiFailure("name_taken")
        channel = Channel(id=random_id("G" if is_private else "C"), name=name, creator=creator, is_private=is_private)
        channel.created = int(self.clock())
        channel.members = list(dict.fromkeys([creator, *members]))
        self.channels[channel.id] = channel
        return channel

    def open_dm(self, user_ids: list[str]) -> Channel:
        """The bot's DM with one user, or a group DM with several; created on first use."""
        others = sorted(set(user_ids) - {self.bot_user_id})
        is_im = len(others) == 1
        for channel in self.channels.values():
            if (channel.is_im or channel.is_mpim) and sorted(set(channel.members) - {self.bot_user_id}) == others:
                return channel
        channel = Channel(
            id=random_id("D" if is_im else "G"),
            name=others[0] if is_im else "mpdm-" + "--".join(others) + "-1",
            creator=self.bot_user_id,
            is_private=True,
            is_im=is_im,
            is_mpim=not is_im,
            im_user=others[0] if is_im else None,
            members=[self.bot_user_id, *others],
        )
        self.channels[channel.id] = channel
        return channel

    def post(self, channel: Channel, user: str, **fields: object) -> Message:
        """Store a new message in a channel, counting replies on its thread parent."""
        message = Message(ts=self.next_ts(), channel_id=channel.id, user=user, team=self.team_id, **fields)  # type: ignore[arg-type]
        if message.thread_ts:
            parent = channel.find_message(message.thread_ts)
            if parent is not None:
                parent.reply_count += 1
                parent.thread_ts = parent.ts
        channel.messages.append(message)
        return message

    def post_as_bot(self, channel: Channel, **fields: object) -> Message:
        """Store a message authored by the app's bot user."""
        return self.post(channel, self.bot_user_id, bot_id=self.bot_id, app_id=self.app_id, **fields)
