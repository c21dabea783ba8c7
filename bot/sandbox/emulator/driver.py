"""The driver: does what Slack does when a person types a command, clicks a button, submits a modal or talks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.emulator import payloads, payloads_ui
from bot.sandbox.emulator.delivery import AckRecord, Delivery
from bot.sandbox.emulator.errors import EmulatorError, SlackApiFailure
from bot.sandbox.emulator.http_delivery import HttpDeliverer
from bot.sandbox.emulator.methods_conversations import add_members
from bot.sandbox.emulator.modals import apply_response_action, state_values
from bot.sandbox.emulator.reactions import add_reaction, remove_reaction
from bot.sandbox.emulator.records import Channel, Message
from bot.sandbox.emulator.response_url import ResponseTarget, ResponseUrls, apply_response
from bot.sandbox.emulator.socket_mode import SocketHub
from bot.sandbox.emulator.state import Workspace

# add_reaction or remove_reaction: changes a message's reactions and returns the event Slack sends for it.
ReactionChange = Callable[[Workspace, str, str, Channel, Message], dict[str, Any]]
DEFAULT_EVENTS = frozenset(
    {"message", "app_mention", "member_joined_channel", "reaction_added", "reaction_removed", "app_home_opened"}
)


@dataclass
class UserMessage:
    """A message a person posted, and the Events API deliveries it caused (none if the bot cannot see it)."""

    message: Message
    deliveries: list[Delivery] = field(default_factory=list)

    async def acked(self, timeout: float = 5.0) -> list[AckRecord]:  # noqa: ASYNC109
        """Wait for every delivery's ack."""
        return list(await asyncio.gather(*(d.acked(timeout) for d in self.deliveries)))


def interactive_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(block_id, element) of every element a person can act on: in actions blocks and as section accessories."""
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            yield str(block.get("block_id", "")), element


def find_button(blocks: list[dict[str, Any]], action_id: str, value: str | None) -> tuple[str, dict[str, Any]]:
    """The (block_id, button) with this action_id (and value, when given); EmulatorError naming what is there."""
    seen: list[str] = []
    for block_id, element in interactive_elements(blocks):
        if element.get("type") != "button":
            continue
        seen.append(f"{element.get('action_id')}={element.get('value')!r}")
        if element.get("action_id") == action_id and (value is None or element.get("value") == value):
            return block_id, element
    wanted = action_id if value is None else f"{action_id}={value!r}"
    raise EmulatorError(f"no button {wanted} in this message; buttons there: {seen or 'none'}", buttons=seen)


def find_menu(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The (block_id, static_select or overflow element) with this action_id; EmulatorError naming what is there."""
    seen: list[str] = []
    for block_id, element in interactive_elements(blocks):
        if element.get("type") in ("static_select", "overflow"):
            seen.append(str(element.get("action_id")))
            if element.get("action_id") == action_id:
                return block_id, element
    raise EmulatorError(f"no menu {action_id} in this message; menus there: {seen or 'none'}", menus=seen)


class Driver:
    """Acts as Slack on a person's behalf; every call returns a handle to await the app's ack."""

    def __init__(
        self,
        ws: Workspace,
        hub: SocketHub,
        responses: ResponseUrls,
        verification_token: str,
        subscribed_events: frozenset[str] = DEFAULT_EVENTS,
    ) -> None:
        self.ws = ws
        self.hub = hub
        self.responses = responses
        self.token = verification_token
        self.subscribed_events = subscribed_events
        # Set when the app uses request URLs: deliveries are then POSTed to it instead of sent over a socket.
        self.http: HttpDeliverer | None = None

    async def slash_command(self, user: str, channel: str, text: str = "", command: str = "/incident") -> Delivery:
        """Type `/command text` in a channel; an ack payload becomes the ephemeral (or in_channel) reply."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        target = self.responses.issue(room.id, person.id)
        trigger_id = self.ws.issue_trigger(person.id)
        payload = payloads.slash_command(self.ws, self.token, person, room, command, text, target.url, trigger_id)
        return self._deliver("slash_commands", payload, True, lambda ack: self._ack_reply(target, ack))

    async def click_button(
        self, user: str, channel: str, ts: str, action_id: str, value: str | None = None
    ) -> Delivery:
        """Click a button of the stored message `ts` (or of an ephemeral message the user sees)."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        message, is_ephemeral = self._clickable(room, ts, person.id)
        block_id, button = find_button(message.blocks or [], action_id, value)
        target = self.responses.issue(room.id, person.id, message.ts, is_ephemeral=is_ephemeral)
        trigger_id = self.ws.issue_trigger(person.id)
        action = payloads.button_action(block_id, button)
        payload = payloads.block_actions(
            self.ws, self.token, person, room, message, action, target.url, trigger_id, is_ephemeral=is_ephemeral
        )
        return self._deliver("interactive", payload, False, None)

    async def submit_view(self, user: str, view_id: str, values: dict[str, Any] | None = None) -> Delivery:
        """Press Submit on an open modal with {block_id: value} (or {block_id: {action_id: value}})."""
        person = self.ws.user_or_raise(user)
        view = self.ws.views.get(view_id)
        if view is None or view.closed or view.user_id != person.id:
            state = "closed" if view is not None and view.closed else "not open for this user"
            raise EmulatorError(f"view {view_id} is {state}")
        entered = state_values(view, values or {})
        payload = payloads.view_submission(self.ws, self.token, person, view, entered, self.ws.issue_trigger(person.id))
        return self._deliver(
            "interactive", payload, True, lambda ack: apply_response_action(self.ws, view, ack.payload)
        )

    async def close_view(self, user: str, view_id: str) -> Delivery | None:
        """Dismiss an open modal (its whole stack, as Slack's close button does); view_closed if it asked to hear."""
        person = self.ws.user_or_raise(user)
        view = self.ws.views.get(view_id)
        if view is None or view.closed or view.user_id != person.id:
            raise EmulatorError(f"view {view_id} is not open for {person.name}")
        for other in self.ws.views.values():
            if other.root_view_id == view.root_view_id:
                other.closed = True
        self.ws.notify()
        if not view.definition.get("notify_on_close"):
            return None
        return self._deliver("interactive", payloads.view_closed(self.ws, self.token, person, view), False, None)

    async def post_user_message(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> UserMessage:
        """A person posts a message; the bot gets `message` (and `app_mention`) events if it is in the channel."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        if person.id not in room.members:
            raise EmulatorError(f"{person.name} is not in #{room.name}; join first")
        # Slack stores and returns what a person typed with `&`, `<`, `>` as entities (mentions kept).
        message = self.ws.post(room, person.id, text=payloads.slack_escaped(text), thread_ts=thread_ts)
        posted = UserMessage(message)
        if self.ws.bot_user_id in room.members:
            if "message" in self.subscribed_events:
                posted.deliveries.append(self._event(payloads.message_event(room, message)))
            if f"<@{self.ws.bot_user_id}>" in text and "app_mention" in self.subscribed_events:
                posted.deliveries.append(self._event(payloads.app_mention_event(room, message)))
        self.ws.notify()
        return posted

    async def join(self, user: str, channel: str, inviter: str | None = None) -> Delivery | None:
        """A person (or the bot, when invited) joins a channel; the bot hears member_joined_channel if present."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        if person.id in room.members:
            raise EmulatorError(f"{person.name} is already in #{room.name}")
        inviter_id = self.ws.user_or_raise(inviter).id if inviter else None
        add_members(self.ws, room, [person.id])
        self.ws.notify()
        if self.ws.bot_user_id not in room.members or "member_joined_channel" not in self.subscribed_events:
            return None
        return self._event(payloads.member_joined_event(self.ws, room, person.id, inviter_id))

    async def invite_bot(self, channel: str, by_user: str) -> Delivery | None:
        """A person invites the bot into a channel (as `/invite @bot`)."""
        return await self.join(self.ws.bot_user_id, channel, inviter=by_user)

    async def global_shortcut(self, user: str, callback_id: str) -> Delivery:
        """Choose a global shortcut from the shortcuts menu."""
        person = self.ws.user_or_raise(user)
        trigger_id = self.ws.issue_trigger(person.id)
        payload = payloads_ui.global_shortcut(self.ws, self.token, person, callback_id, trigger_id)
        return self._deliver("interactive", payload, False, None)

    async def message_shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> Delivery:
        """Choose a message shortcut on the stored message `ts` of a channel the person is in."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        if person.id not in room.members:
            raise EmulatorError(f"{person.name} is not in #{room.name}; join first")
        message = room.find_message(ts)
        if message is None:
            raise EmulatorError(f"no message {ts} in #{room.name}")
        target = self.responses.issue(room.id, person.id)
        trigger_id = self.ws.issue_trigger(person.id)
        payload = payloads_ui.message_shortcut(
            self.ws, self.token, person, room, message, callback_id, trigger_id, target.url
        )
        return self._deliver("interactive", payload, False, None)

    async def open_home(self, user: str) -> Delivery | None:
        """A person opens the app's Home tab; None when the app does not subscribe to app_home_opened."""
        person = self.ws.user_or_raise(user)
        if "app_home_opened" not in self.subscribed_events:
            return None
        dm = self.ws.open_dm([person.id])
        home = next((v for v in self.ws.views.values() if v.user_id == person.id and v.type == "home"), None)
        return self._event(payloads_ui.app_home_opened_event(self.ws, person, dm, home))

    async def click_view_button(self, user: str, view_id: str, action_id: str, value: str | None = None) -> Delivery:
        """Click a button inside an open modal or the person's Home tab."""
        person = self.ws.user_or_raise(user)
        view = self.ws.views.get(view_id)
        if view is None or view.closed or view.user_id != person.id:
            raise EmulatorError(f"view {view_id} is not open for {person.name}")
        block_id, button = find_button(list(view.definition.get("blocks") or []), action_id, value)
        trigger_id = self.ws.issue_trigger(person.id)
        action = payloads.button_action(block_id, button)
        payload = payloads_ui.view_block_actions(self.ws, self.token, person, view, action, trigger_id)
        return self._deliver("interactive", payload, False, None)

    async def choose_option(self, user: str, channel: str, ts: str, action_id: str, value: str) -> Delivery:
        """Pick an option of a static_select or overflow menu on the stored message `ts`."""
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        self._check_open(room)
        message, is_ephemeral = self._clickable(room, ts, person.id)
        block_id, element = find_menu(message.blocks or [], action_id)
        try:
            action = payloads_ui.select_action(block_id, element, value)
        except ValueError as exc:
            raise EmulatorError(str(exc)) from None
        target = self.responses.issue(room.id, person.id, message.ts, is_ephemeral=is_ephemeral)
        trigger_id = self.ws.issue_trigger(person.id)
        payload = payloads.block_actions(
            self.ws, self.token, person, room, message, action, target.url, trigger_id, is_ephemeral=is_ephemeral
        )
        return self._deliver("interactive", payload, False, None)

    async def add_reaction(self, user: str, channel: str, ts: str, name: str) -> Delivery | None:
        """A person reacts to a message; the bot hears `reaction_added` when it is in the channel."""
        return self._react(user, channel, ts, name, add_reaction, "cannot react")

    async def remove_reaction(self, user: str, channel: str, ts: str, name: str) -> Delivery | None:
        """A person takes their reaction off; the bot hears `reaction_removed` when it is in the channel."""
        return self._react(user, channel, ts, name, remove_reaction, "cannot remove the reaction")

    def emit_event(self, event: dict[str, Any]) -> Delivery | None:
        """Send an event a Web API call caused (the bot's own reaction) as Slack would: if subscribed and a member."""
        room = self.ws.channels.get(str((event.get("item") or {}).get("channel") or event.get("channel") or ""))
        return self._channel_event(room, event) if room is not None else None

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Slack sending a delivery again, the same event_id: with `X-Slack-Retry-Num` over HTTP, else retry_attempt."""
        target = self.http if self.http is not None else self.hub
        return target.redeliver(delivery)

    def _channel_event(self, room: Channel, event: dict[str, Any]) -> Delivery | None:
        self.ws.notify()
        if self.ws.bot_user_id not in room.members or event["type"] not in self.subscribed_events:
            return None
        return self._event(event)

    def _react(
        self, user: str, channel: str, ts: str, name: str, change: ReactionChange, refusal: str
    ) -> Delivery | None:
        person, room = self.ws.user_or_raise(user), self.ws.channel_or_raise(channel)
        message = self._reactable(room, ts, person.id)
        try:
            event = change(self.ws, person.id, name.strip(":"), room, message)
        except SlackApiFailure as failure:
            raise EmulatorError(f"{person.name} {refusal}: {failure.error}") from None
        return self._channel_event(room, event)

    def _reactable(self, room: Channel, ts: str, user_id: str) -> Message:
        self._check_open(room)
        if room.is_private and user_id not in room.members:
            raise EmulatorError(f"#{room.name} is private and this user is not in it")
        message = room.find_message(ts)
        if message is None or message.deleted:
            raise EmulatorError(f"no message {ts} in #{room.name}")
        return message

    def _event(self, event: dict[str, Any]) -> Delivery:
        return self._deliver("events_api", payloads.event_callback(self.ws, self.token, event), False, None)

    def _deliver(self, kind: str, payload: dict[str, Any], accepts: bool, effect: Any) -> Delivery:
        def on_ack(ack: AckRecord) -> None:
            if effect is not None:
                effect(ack)
            self.ws.notify()

        target = self.http if self.http is not None else self.hub
        return target.deliver(kind, payload, accepts_response_payload=accepts, on_ack=on_ack)

    def _ack_reply(self, target: ResponseTarget, ack: AckRecord) -> None:
        if ack.payload:
            apply_response(self.ws, target, ack.payload, source="ack")

    def _check_open(self, room: Channel) -> None:
        if room.is_archived:
            raise EmulatorError(f"#{room.name} is archived")

    def _clickable(self, room: Channel, ts: str, user_id: str) -> tuple[Message, bool]:
        message = room.find_message(ts)
        if message is not None:
            return message, False
        for eph in self.ws.ephemerals:
            if eph.ts == ts and eph.channel_id == room.id and eph.user == user_id and not eph.deleted:
                return Message(
                    ts=eph.ts, channel_id=room.id, user=self.ws.bot_user_id, text=eph.text, blocks=eph.blocks
                ), True
        raise EmulatorError(f"no message {ts} in #{room.name} that this user can see")
