"""Follow-ups over the emulator: the draft's "Add follow-up" button and form, the command beside it, and refusals.

The form and `/incident followup` must record the same thing: one store, one timeline entry, one tracker export
(a loopback GitHub), one access rule. A click is refused, ephemerally, for an unknown incident, from
another incident's channel (audited `click-channel`) and for a bystander (audited `followup`).
"""

from __future__ import annotations

import json

import pytest

from bot.followups.models import FollowUpStatus
from bot.followups.service import MAX_TEXT
from bot.incidents.models import Status
from bot.sandbox.emulator import Message, SlackEmulator
from bot.sandbox.emulator.records import Channel
from bot.sandbox.stack import SandboxStack
from bot.services import BotServices
from bot.slack.followup_blocks import FollowupAction
from bot.slack.followup_modal import FOLLOWUP_CALLBACK, OWNER_BLOCK, TEXT_BLOCK
from tests.conftest import Serve
from tests.integration.bot.conftest import RUNBOOKS, StartStack, eventually
from tests.integration.bot.lifecycle_stack import ALICE, BOB, DAVE, HOSTILE
from tests.integration.followups.fake_trackers import GITHUB_TOKEN, FakeGitHub

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

ADD = FollowupAction.ADD.value


@pytest.fixture
async def github(serve: Serve) -> FakeGitHub:
    tracker = FakeGitHub()
    tracker.url = await serve(tracker.app())
    return tracker


@pytest.fixture
async def stack(start_stack: StartStack, github: FakeGitHub) -> SandboxStack:
    return await start_stack(
        RUNBOOKS,
        log_format="text",
        followup_tracker="github",
        github_api_url=github.url,
        github_repo="acme/shop",
        github_token=GITHUB_TOKEN,
    )


def services_of(stack: SandboxStack) -> BotServices:
    services = stack.bot.services
    assert services is not None
    return services


async def command(emulator: SlackEmulator, user: str, channel: str, text: str, reply: str) -> str:
    await (await emulator.driver.slash_command(user, channel, text)).acked(timeout=5)
    return (await emulator.wait_for_ephemeral(user, reply, timeout=10)).text or ""


async def incident_with_draft(stack: SandboxStack, number: int, title: str) -> tuple[Channel, Message]:
    """alice declares INC-<number> on `jobs` and posts its draft; its channel and the draft's message."""
    emulator = stack.emulator
    await command(emulator, "alice", "incidents", f'new "{title}" --service jobs', f"Opening INC-{number}")
    channel = await emulator.wait_for_channel(f"inc-{number}-jobs-{title.replace(' ', '-')}", timeout=10)
    await emulator.wait_for_message(channel.id, f"INC-{number}", timeout=10)
    await command(emulator, "alice", channel.id, "postmortem", "posted as a canvas")
    draft = await emulator.wait_for_message(channel.id, f"Post-mortem draft for INC-{number}", timeout=10)
    return channel, draft


def button_values(message: Message) -> list[str]:
    return [
        str(e.get("value"))
        for b in message.blocks or []
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == ADD
    ]


def set_button_value(emulator: SlackEmulator, channel: str, ts: str, value: str) -> None:
    """Rewrite the stored button's value: a payload Slack would never build, but a value is not trusted."""
    for block in emulator.message(channel, ts).blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element["action_id"] == ADD:
                element["value"] = value


async def test_the_draft_button_records_a_follow_up_exactly_as_the_command_does(
    stack: SandboxStack, github: FakeGitHub
) -> None:
    emulator, services = stack.emulator, services_of(stack)
    channel, draft = await incident_with_draft(stack, 1, "disk full")
    assert button_values(draft) == ["INC-1"]
    canvas_link = (await services.store.get_incident_or_raise("INC-1")).links["postmortem"]
    assert f"<{canvas_link}|open the canvas>" in (draft.text or "")

    await (await emulator.driver.click_button("alice", channel.id, draft.ts, ADD, "INC-1")).acked()
    view = await emulator.wait_for_view("alice", callback_id=FOLLOWUP_CALLBACK)
    assert json.loads(view.definition["private_metadata"]) == {"incident": "INC-1", "channel": channel.id}

    # Problems come back inside the form; nothing is recorded until it is right.
    await (await emulator.driver.submit_view("alice", view.id, {TEXT_BLOCK: "  \n "})).acked()
    assert emulator.workspace.views[view.id].errors == {TEXT_BLOCK: "Describe the follow-up."}
    await (await emulator.driver.submit_view("alice", view.id, {TEXT_BLOCK: "x" * (MAX_TEXT + 1)})).acked()
    assert emulator.workspace.views[view.id].errors == {TEXT_BLOCK: f"At most {MAX_TEXT} characters, not 1001."}
    assert not emulator.workspace.views[view.id].closed
    assert await services.followups.followups.list_incident("INC-1") == []  # type: ignore[union-attr]

    await (await emulator.driver.submit_view("alice", view.id, {TEXT_BLOCK: HOSTILE, OWNER_BLOCK: BOB})).acked()
    assert emulator.workspace.views[view.id].closed
    told = await emulator.wait_for_ephemeral("alice", "Follow-up INC-1-F1 recorded", timeout=10)
    assert told.channel_id == channel.id and f"for <@{BOB}>" in (told.text or "")
    assert "<!channel>" not in (told.text or "") and "&lt;!channel&gt;" in (told.text or "")
    assert "<https://e.test|" not in (told.text or "")

    # The same action item by command, for the comparison.
    typed = await command(emulator, "alice", channel.id, "followup Add a disk alert @bob", "Follow-up INC-1-F2")
    assert f"for <@{BOB}>" in typed and "filed in the tracker" in typed and "filed in the tracker" in (told.text or "")

    by_form, by_command = await services.followups.followups.list_incident("INC-1")  # type: ignore[union-attr]
    assert (by_form.text, by_command.text) == (HOSTILE, "Add a disk alert")
    for item in (by_form, by_command):
        assert (item.owner, item.created_by, item.status) == (BOB, ALICE, FollowUpStatus.OUTSTANDING)

    # One timeline entry each, the same shape; both exported, each link written back.
    await eventually(lambda: _exported(services, 2), timeout=20)
    timeline = await services.store.read_timeline("INC-1")
    recorded = [e for e in timeline if e.data.get("kind") == "followup"]
    assert [(e.actor, e.data) for e in recorded] == [
        (ALICE, {"kind": "followup", "followup": f, "owner": BOB, "status": "outstanding"})
        for f in ("INC-1-F1", "INC-1-F2")
    ]
    assert sorted(i["title"] for i in github.issues) == sorted([HOSTILE, "Add a disk alert"])
    hostile_issue = next(i for i in github.issues if i["title"] == HOSTILE)
    assert "$(touch /tmp/x)" in str(hostile_issue["body"]) and {"name": "rb-inc-1-f1"} in hostile_issue["labels"]
    items = await services.followups.followups.list_incident("INC-1")  # type: ignore[union-attr]
    assert {i.tracker_url for i in items} == {i["html_url"] for i in github.issues}

    # Statuses and the list, over Slack.
    await command(emulator, "alice", channel.id, "followup done INC-1-F2", "Follow-up INC-1-F2 is now done")
    await command(emulator, "alice", channel.id, "followup wont-do inc-1-f1", "Follow-up INC-1-F1 is now wont-do")
    await command(emulator, "alice", channel.id, "followup reopen INC-1-F1", "Follow-up INC-1-F1 is now outstanding")
    listed = await command(emulator, "alice", channel.id, "followup list", "INC-1 follow-ups")
    assert "`INC-1-F1` outstanding" in listed and "`INC-1-F2` done" in listed and "<!channel>" not in listed
    changes = [
        e.data["status"] for e in await services.store.read_timeline("INC-1") if e.data.get("kind") == "followup_status"
    ]
    assert changes == ["done", "wont-do", "outstanding"]


async def test_the_draft_button_refuses_strangers_and_still_serves_a_closed_incident(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, services_of(stack)
    first, first_draft = await incident_with_draft(stack, 1, "disk full")
    second, second_draft = await incident_with_draft(stack, 2, "queue stuck")
    general = emulator.channel("general").id

    # A bystander (not in the channel, no group, not on call) is refused by the access policy.
    await (await emulator.driver.click_button("dave", first.id, first_draft.ts, ADD)).acked()
    await emulator.wait_for_ephemeral("dave", "access rule `followup`", timeout=5)

    # INC-1's id clicked from INC-2's channel: refused and audited, nothing opens.
    set_button_value(emulator, second.id, second_draft.ts, "INC-1")
    await (await emulator.driver.click_button("alice", second.id, second_draft.ts, ADD, "INC-1")).acked()
    refused = await emulator.wait_for_ephemeral("alice", "This button belongs to INC-1", timeout=5)
    assert "click-channel" in (refused.text or "")
    set_button_value(emulator, second.id, second_draft.ts, "INC-99")
    await (await emulator.driver.click_button("alice", second.id, second_draft.ts, ADD, "INC-99")).acked()
    await emulator.wait_for_ephemeral("alice", "names INC-99, which the bot does not know", timeout=5)
    assert not emulator.views("alice") and not emulator.views("dave")
    denied = [(e.actor, e.outcome, e.data["channel"]) for e in await services.store.read_audit("INC-1")]
    assert [d for d in denied if d[1] in ("followup", "click-channel")] == [
        (DAVE, "followup", first.id),
        (ALICE, "click-channel", second.id),
    ]

    # INC-2's form is open when the incident closes: like `/incident followup`, it still records, since the
    # review that finds action items often meets after the close.
    set_button_value(emulator, second.id, second_draft.ts, "INC-2")
    await (await emulator.driver.click_button("alice", second.id, second_draft.ts, ADD, "INC-2")).acked()
    view = await emulator.wait_for_view("alice", callback_id=FOLLOWUP_CALLBACK)
    await command(emulator, "alice", general, "resolve INC-2", "resolved")
    await command(emulator, "alice", general, "close INC-2 anyway", "INC-2 closed")
    await (await emulator.driver.submit_view("alice", view.id, {TEXT_BLOCK: "found in the review"})).acked()
    assert not emulator.workspace.views[view.id].errors
    await emulator.wait_for_ephemeral("alice", "found in the review", timeout=5)
    # And the closed incident's button still opens the form.
    await (await emulator.driver.click_button("alice", second.id, second_draft.ts, ADD, "INC-2")).acked()
    reopened = await emulator.wait_for_view("alice", callback_id=FOLLOWUP_CALLBACK)
    assert reopened.id != view.id
    closed = await services.store.get_incident("INC-2")
    assert closed is not None and closed.status is Status.CLOSED
    recorded = await services.followups.followups.list_incident("INC-2")  # type: ignore[union-attr]
    assert [f.text for f in recorded] == ["found in the review"]
    assert await services.followups.followups.list_incident("INC-1") == []  # type: ignore[union-attr]


async def _exported(services: BotServices, count: int) -> bool:
    timeline = await services.store.read_timeline("INC-1")
    return len([e for e in timeline if e.data.get("kind") == "followup_exported"]) >= count
