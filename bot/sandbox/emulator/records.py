"""Dataclasses for what the emulated workspace holds, each able to render itself as Slack's JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    """A workspace member (or the bot user)."""

    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    tz: str = "UTC"
    is_bot: bool = False
    deleted: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        """users.info's `user` object."""
        profile: dict[str, Any] = {"real_name": self.real_name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }


@dataclass
class UserGroup:
    """A user group such as @oncall."""

    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)
    description: str = ""
    disabled: bool = False
    channels: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))

    def to_api(self, team_id: str, *, include_users: bool = False, include_count: bool = False) -> dict[str, Any]:
        """usergroups.list's usergroup object; `users` and `user_count` only when asked for, as Slack does."""
        body: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": self.name,
            "description": self.description,
            "handle": self.handle,
            "is_external": False,
            "date_create": self.created,
            "date_update": self.created,
            "date_delete": self.created if self.disabled else 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": "USLACKBOT",
            "updated_by": "USLACKBOT",
            "deleted_by": "USLACKBOT" if self.disabled else None,
            "prefs": {"channels": list(self.channels), "groups": []},
        }
        if include_users:
            body["users"] = list(self.users)
        if include_count:
            body["user_count"] = len(self.users)
        return body


@dataclass
class Edit:
    """One earlier version of a message, kept when chat.update or response_url replaces it."""

    edited_at: str
    text: str | None
    blocks: list[dict[str, Any]] | None


@dataclass
class Message:
    """A message in a channel, as stored: text, blocks, thread, author and edit history."""

    ts: str
    channel_id: str
    user: str
    text: str | None = None
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    edits: list[Edit] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    reply_count: int = 0
    deleted: bool = False
    # Files shared with the message (files.completeUploadExternal with a channel).
    files: list[dict[str, Any]] | None = None

    @property
    def edited(self) -> bool:
        """True once the message was updated."""
        return bool(self.edits)

    def to_api(self) -> dict[str, Any]:
        """The message object of conversations.history and block_actions payloads."""
        body: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text or ""}
        optional = {
            "blocks": self.blocks,
            "thread_ts": self.thread_ts,
            "subtype": self.subtype,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team,
            "files": self.files,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        if self.edits:
            body["edited"] = {"user": self.user, "ts": self.edits[-1].edited_at}
        if self.reactions:
            body["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in self.reactions.items()]
        if self.reply_count:
            body["reply_count"] = self.reply_count
        return body


@dataclass
class Ephemeral:
    """A message only one user sees; it is never in channel history."""

    ts: str
    channel_id: str
    user: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    source: str
    thread_ts: str | None = None
    deleted: bool = False
    edits: list[Edit] = field(default_factory=list)


@dataclass
class Bookmark:
    """A channel bookmark from bookmarks.add."""

    id: str
    channel_id: str
    title: str
    type: str
    link: str | None
    emoji: str | None
    date_created: int

    def to_api(self) -> dict[str, Any]:
        """bookmarks.add's `bookmark` object."""
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "title": self.title,
            "type": self.type,
            "link": self.link,
            "emoji": self.emoji,
            "date_created": self.date_created,
        }


@dataclass
class Channel:
    """A public or private channel, a DM (is_im) or a group DM (is_mpim)."""

    id: str
    name: str
    creator: str
    created: int = field(default_factory=lambda: int(time.time()))
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    topic: str = ""
    purpose: str = ""
    is_archived: bool = False
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)

    def find_message(self, ts: str | None) -> Message | None:
        """The live (not deleted) message with this ts."""
        for message in self.messages:
            if message.ts == ts and not message.deleted:
                return message
        return None

    def to_api(self, viewer: str) -> dict[str, Any]:
        """conversations.info's `channel` object as `viewer` sees it."""
        if self.is_im:
            return {"id": self.id, "created": self.created, "is_im": True, "user": self.im_user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": viewer in self.members,
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": self.creator if self.topic else "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": self.creator if self.purpose else "", "last_set": 0},
        }


@dataclass
class View:
    """A modal or Home tab opened, updated or published through the views.* methods."""

    id: str
    team_id: str
    user_id: str
    definition: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def type(self) -> str:
        """modal or home."""
        return str(self.definition.get("type", "modal"))

    def to_api(self, app_id: str, bot_id: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `view` object of views.* answers and view_submission payloads."""
        body = {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": self.definition.get("blocks", []),
            "private_metadata": self.definition.get("private_metadata", ""),
            "callback_id": self.definition.get("callback_id", ""),
            "state": {"values": values or {}},
            "hash": self.hash,
            "title": self.definition.get("title"),
            "close": self.definition.get("close"),
            "submit": self.definition.get("submit"),
            "clear_on_close": bool(self.definition.get("clear_on_close", False)),
            "notify_on_close": bool(self.definition.get("notify_on_close", False)),
            "external_id": self.definition.get("external_id", ""),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": bot_id,
        }
        return body


@dataclass
class CallRecord:
    """One Web API call as the emulator saw it."""

    method: str
    args: dict[str, Any]
    at: float
    status: int
    ok: bool
    error: str | None = None
    token_kind: str | None = None
