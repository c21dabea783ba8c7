"""Roles and timeline capture over the emulator: `/incident role`, claim buttons (and a race), pins, notes."""

from __future__ import annotations

import asyncio

import pytest

from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.pins import live_pins
from bot.sandbox.emulator import Message
from bot.sandbox.stack import SandboxStack
from bot.slack.http_mode import SLACK_PATH
from bot.slack.role_blocks import CLAIM_ACTION
from tests.integration.bot.conftest import (
    RUNBOOKS,
    WITH_HOOKS,
    WITH_ON_CALL,
    StartStack,
    command,
    eventually,
    open_incident,
)
from tests.integration.bot.lifecycle_stack import ALICE, BOB, CAROL


async def join_once(stack: SandboxStack, name: str, user: str, channel: str) -> None:
    """The person joins the channel unless the bot already invited them (paged people are)."""
    if user not in stack.emulator.channel(channel).members:
        await stack.emulator.driver.join(name, channel)


# Shell metacharacters, mrkdwn, a mass mention and template syntax, with a quote shlex cannot close.
HOSTILE = "it's $(rm -rf /) && `id` | tee *bold* _it_ <!channel> @here {{ alert.title }} ${alert.labels.x} &amp; \"open"


@pytest.fixture
async def stack(start_stack: StartStack) -> SandboxStack:
    """The bot with the sandbox's escalation: alice is on call and paged at once, so she is a responder."""
    return await start_stack(RUNBOOKS, **WITH_ON_CALL, **WITH_HOOKS)


async def header(stack: SandboxStack) -> Message:
    services = stack.bot.services
    assert services is not None

    async def posted() -> Incident | None:
        # Provisioning posts the header; the page (a timer due at once) can reach the channel first.
        incident = await services.store.get_incident_or_raise("INC-1")
        return incident if incident.channel_id and incident.header_ts else None

    incident = await eventually(posted)
    assert incident and incident.channel_id and incident.header_ts
    return stack.emulator.message(incident.channel_id, incident.header_ts)


def claim_buttons(message: Message) -> dict[str, str]:
    """{action_id: button text} of the header's claim buttons."""
    return {
        str(e["action_id"]): str(e["text"]["text"])
        for b in message.blocks or []
        if b.get("type") == "actions"
        for e in b["elements"]
        if str(e.get("action_id", "")).startswith(CLAIM_ACTION)
    }


def role_line(message: Message) -> str:
    return next(str(b["elements"][0]["text"]) for b in message.blocks or [] if b.get("block_id") == "roles")


async def timeline(stack: SandboxStack, kind: EventType) -> list[TimelineEvent]:
    services = stack.bot.services
    assert services is not None
    return [e for e in await services.store.read_timeline("INC-1") if e.type is kind]


@pytest.mark.usefixtures("slack_mode_all")
async def test_role_command_assigns_dms_the_holder_and_shows_holders_on_header_and_topic(stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack, "roles")
    first = await header(stack)
    assert set(claim_buttons(first).values()) == {"Claim commander", "Claim communications", "Claim scribe"}

    # No commander yet: a responder (alice, paged) may hand out a role.
    reply = await command(stack, "alice", channel, "role communications @carol", "is now communications")
    assert reply == f"<@{CAROL}> is now communications of INC-1."
    dm = await slack.wait_until(lambda: slack.dm("carol"), 5, "carol's DM")
    instructions = await slack.wait_for_message(dm.id, "You are now *Communications* of INC-1", timeout=5)
    assert "--publish" in (instructions.text or "")
    await slack.wait_until(lambda: f"<@{CAROL}>" in role_line(slack.message(channel, first.ts)), 5, "header")
    assert "Claim communications" not in claim_buttons(await header(stack)).values()
    await slack.wait_until(lambda: f"communications: <@{CAROL}>" in slack.channel(channel).topic, 5, "topic")

    # Commander through the role command keeps the commander field and who set it, as the approval rule reads.
    await command(stack, "alice", channel, "role commander me", "is now commander")
    incident = await services.store.get_incident_or_raise("INC-1")
    assert (incident.commander, incident.commander_set_by) == (ALICE, ALICE)
    assert incident.roles == {"communications": CAROL}
    await slack.wait_until(lambda: "commander: <@U0ALICE001>" in slack.channel(channel).topic, 5, "topic")

    # Now there is a commander: she reassigns; the previous holder is in the reply and the timeline.
    reply = await command(stack, "alice", channel, "role communications @Bob Lindqvist", f"<@{BOB}> is now")
    assert reply.endswith(f"(was <@{CAROL}>).")
    events = await timeline(stack, EventType.ROLE)
    assert [(e.data["role"], e.data["old"], e.data["new"], e.actor) for e in events] == [
        ("communications", None, CAROL, ALICE),
        ("commander", None, ALICE, ALICE),
        ("communications", CAROL, BOB, ALICE),
    ]
    listing = await command(stack, "dave", "general", "role INC-1", "INC-1 roles")
    assert f"Communications: <@{BOB}>" in listing and "Scribe: _unclaimed_" in listing


@pytest.mark.usefixtures("slack_mode_all")
async def test_role_access_and_inert_text(stack: SandboxStack) -> None:
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack, "roles")
    await command(stack, "alice", channel, "role commander @alice", "is now commander")
    # dave is no responder: he may not take a role; bob joins (a responder) but may not give one to another.
    await command(stack, "dave", "general", "role scribe me INC-1", "access rule `role-self`")
    await join_once(stack, "bob", BOB, channel)
    await command(stack, "bob", channel, "role scribe @carol", "access rule `role`")
    # Taking a role someone else holds is giving it away from them: the `role` rule.
    await command(stack, "alice", channel, "role scribe @carol", "is now scribe")
    await command(stack, "bob", channel, "role scribe me", "access rule `role`")
    await command(stack, "bob", channel, "role communications me", "is now communications")
    reply = await command(stack, "alice", channel, "role <!channel>&$(id) @bob", "there is no role")
    assert "&lt;!channel&gt;&amp;$(id)" in reply and "<!channel>" not in reply
    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.roles == {"scribe": CAROL, "communications": BOB}
    denied = [e.outcome for e in await services.store.read_audit("INC-1") if e.action == "access.denied"]
    assert denied == ["role-self", "role", "role"]


@pytest.mark.usefixtures("slack_mode_all")
async def test_two_people_racing_to_claim_get_one_holder(stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack, "roles")
    if BOB not in slack.channel(channel).members:  # paged people are invited already
        await slack.driver.join("bob", channel)
    head = await header(stack)
    action = f"{CLAIM_ACTION}:scribe"
    clicks = await asyncio.gather(
        slack.driver.click_button("alice", channel, head.ts, action),
        slack.driver.click_button("bob", channel, head.ts, action),
    )
    await asyncio.gather(*(c.acked() for c in clicks))
    won = await slack.wait_until(
        lambda: [e for e in slack.workspace.ephemerals if "You are now scribe" in (e.text or "")], 5, "a winner"
    )
    lost = await slack.wait_until(
        lambda: [e for e in slack.workspace.ephemerals if "scribe is already held by" in (e.text or "")], 5, "a loser"
    )
    assert len(won) == 1 and len(lost) == 1 and won[0].user != lost[0].user
    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.roles == {"scribe": won[0].user}
    assert [e.data["new"] for e in await timeline(stack, EventType.ROLE)] == [won[0].user]
    assert (await timeline(stack, EventType.ROLE))[0].data["how"] == "claimed"
    await slack.wait_until(lambda: "Claim scribe" not in claim_buttons(slack.message(channel, head.ts)).values(), 5)

    # Claiming commander from the header is commander-self: alice becomes commander with who set it.
    await slack.driver.click_button("alice", channel, head.ts, f"{CLAIM_ACTION}:commander")
    await slack.wait_for_ephemeral("alice", "You are now commander", timeout=5)
    incident = await services.store.get_incident_or_raise("INC-1")
    assert (incident.commander, incident.commander_set_by) == (ALICE, ALICE)


# Over Socket Mode and over HTTP always: Slack retries events differently in each (retry_attempt, X-Slack-Retry-Num).
async def test_pin_reactions_add_once_and_remove_with_the_last_pin(slack_mode: str, stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack, "roles")
    for name, user in (("bob", BOB), ("carol", CAROL)):
        await join_once(stack, name, user, channel)
    posted = await slack.driver.post_user_message("carol", channel, HOSTILE)
    ts = posted.message.ts

    other = await slack.driver.add_reaction("alice", channel, ts, "thumbsup")
    assert other is not None
    await other.acked()
    first = await slack.driver.add_reaction("alice", channel, ts, ":pushpin:")
    assert first is not None and first.payload["event"]["item"] == {"type": "message", "channel": channel, "ts": ts}
    await first.acked()
    pins = await eventually(lambda: timeline(stack, EventType.PIN))
    assert len(pins) == 1
    pin = pins[0]
    assert pin.data["text"] == HOSTILE and pin.data["author"] == CAROL and pin.actor == ALICE
    assert (
        pin.data["permalink"]
        == f"https://{slack.workspace.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    )
    assert slack.calls("chat.getPermalink")

    # Slack retries an event with the same event_id; a second person's pin is the same entry.
    retry = slack.driver.redeliver(first)
    retried = await retry.acked()
    assert retry.payload["event_id"] == first.payload["event_id"] and retried.attempt == 1
    assert retried.connection_id.endswith(SLACK_PATH) is (slack_mode == "http"), (
        "retried the way this mode's Slack does"
    )
    second = await slack.driver.add_reaction("bob", channel, ts, "pushpin")
    assert second is not None
    await second.acked()
    await asyncio.sleep(0.3)
    assert len(await timeline(stack, EventType.PIN)) == 1

    shown = await command(stack, "dave", "general", "timeline INC-1", "INC-1 timeline")
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown and "@\u200bhere" in shown

    # The entry stays while bob still pins it, and is marked removed with the last pin.
    removed = await slack.driver.remove_reaction("alice", channel, ts, "pushpin")
    assert removed is not None
    await removed.acked()
    await asyncio.sleep(0.3)
    assert await timeline(stack, EventType.UNPIN) == []
    gone = await slack.driver.remove_reaction("bob", channel, ts, "pushpin")
    assert gone is not None and gone.payload["event"]["type"] == "reaction_removed"
    await gone.acked()
    unpins = await eventually(lambda: timeline(stack, EventType.UNPIN))
    assert [u.data["removed"] for u in unpins] == [pin.stream_id]
    assert live_pins(await services.store.read_timeline("INC-1")) == []
    again = slack.driver.redeliver(gone)
    await again.acked()
    await asyncio.sleep(0.2)
    assert len(await timeline(stack, EventType.UNPIN)) == 1

    # A reply in a thread is found through conversations.replies.
    reply = await slack.driver.post_user_message("bob", channel, "found it: pool size 5", thread_ts=ts)
    threaded = await slack.driver.add_reaction("carol", channel, reply.message.ts, "pushpin")
    assert threaded is not None
    await threaded.acked()
    live = await eventually(lambda: _live(stack))
    assert [(p.data["text"], p.data["author"], p.data["ts"]) for p in live] == [
        ("found it: pool size 5", BOB, reply.message.ts)
    ]

    # A reaction outside incident channels does nothing.
    outside = await slack.driver.post_user_message("alice", "general", "not an incident")
    elsewhere = await slack.driver.add_reaction("alice", "general", outside.message.ts, "pushpin")
    if elsewhere is not None:
        await elsewhere.acked()
    await asyncio.sleep(0.2)
    assert len(await timeline(stack, EventType.PIN)) == 2


async def _live(stack: SandboxStack) -> list[TimelineEvent]:
    services = stack.bot.services
    assert services is not None
    return live_pins(await services.store.read_timeline("INC-1"))


@pytest.mark.usefixtures("slack_mode_all")
async def test_note_keeps_the_text_exactly_as_typed(stack: SandboxStack) -> None:
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack, "roles")
    reply = await command(stack, "alice", channel, f"note {HOSTILE} --publish", "Noted on INC-1")
    assert "&lt;!channel&gt;" in reply and "<!channel>" not in reply
    await command(stack, "alice", "general", "note INC-1 second note", "Noted on INC-1: second note")
    notes = await timeline(stack, EventType.NOTE)
    assert [(n.summary, n.actor) for n in notes] == [(f"{HOSTILE} --publish", ALICE), ("second note", ALICE)]
    await command(stack, "alice", channel, "note", "write the note")
    await command(stack, "dave", "general", "note INC-1 sneaky", "access rule `note`")
    assert len(await timeline(stack, EventType.NOTE)) == 2
