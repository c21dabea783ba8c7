"""Declaring over the emulator: the modal, its validation errors, access, both shortcuts and `new` with flags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.connections import Redis
from bot.incidents.declare import check_declaration, declare_incident_flow
from bot.incidents.models import EventType
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from bot.slack.declare import GLOBAL_SHORTCUT, MESSAGE_SHORTCUT
from bot.slack.declare_view import DECLARE_CALLBACK
from tests.integration.bot.lifecycle_stack import (
    ALICE,
    BOB,
    DAVE,
    DECLARE_RUNBOOKS,
    HOSTILE,
    SANDBOX_ESCALATION,
    wait_incident,
)

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=DECLARE_RUNBOOKS,
        escalation_path=SANDBOX_ESCALATION,
        data_dir=tmp_path,
        shell_allowlist=["echo"],
        log_format="text",
    )
    yield started
    await started.stop()


def _form(title: str, env: str = "staging", **extra: object) -> dict[str, object]:
    return {"title": title, "severity": "P2", "service": "checkout", "environment": env, **extra}


async def test_declare_modal_errors_then_opens_an_incident_matched_to_its_runbook(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    await (await emulator.driver.slash_command("alice", "general", "declare")).acked()
    view = await emulator.wait_for_view("alice", callback_id=DECLARE_CALLBACK)
    service_block = next(b for b in view.definition["blocks"] if b["block_id"] == "service")
    assert [o["value"] for o in service_block["element"]["options"]] == ["checkout"]
    assert not [e for e in emulator.ephemerals("alice") if "Unknown" in (e.text or "")]

    # Invalid: no title, an environment with spaces. The modal stays open showing both errors; nothing opens.
    await (await emulator.driver.submit_view("alice", view.id, _form("", env="prod east"))).acked()
    assert set(emulator.workspace.views[view.id].errors) == {"title", "environment"}
    assert not emulator.workspace.views[view.id].closed
    assert await services.store.list_open_incidents() == []

    form = _form("Checkout errors after deploy", description=HOSTILE, visibility="private", commander=BOB)
    await (await emulator.driver.submit_view("alice", view.id, form)).acked()
    assert emulator.workspace.views[view.id].closed
    incident = await wait_incident(stack, "INC-1")
    assert (incident.service, incident.environment, incident.severity.value) == ("checkout", "staging", "P2")
    assert incident.commander == BOB and incident.commander_set_by == ALICE
    # The runbook was found by service and symptom, then matched as an alert would be.
    assert incident.runbook_id == "checkout-errors"
    channel = emulator.workspace.channels[incident.channel_id or ""]
    assert channel.is_private and BOB in channel.members  # the chosen commander is invited
    await emulator.wait_for_message(channel.id, "Diagnostics: warning", timeout=10)
    timeline = await services.store.read_timeline(incident.id)
    notes = [e for e in timeline if e.data.get("kind") == "description"]
    assert [n.summary for n in notes] == [HOSTILE.strip()]
    # The bot is not in #general, so the confirmation comes by DM.
    dm = await emulator.wait_until(lambda: emulator.dm("alice"), what="alice's DM")
    await emulator.wait_for_message(dm.id, "Opening INC-1")


async def test_hostile_title_stays_inert_in_header_and_topic(stack: SandboxStack) -> None:
    emulator = stack.emulator
    await (await emulator.driver.slash_command("alice", "general", "declare")).acked()
    view = await emulator.wait_for_view("alice", callback_id=DECLARE_CALLBACK)
    await (await emulator.driver.submit_view("alice", view.id, _form(HOSTILE[:140]))).acked()
    incident = await wait_incident(stack, "INC-1")
    assert incident.title == HOSTILE[:140]
    posted = " ".join(m.text or "" for m in emulator.messages(incident.channel_id or ""))
    assert "<!channel>" not in posted and "<@U0BOB00001>" not in posted and "<https://e.test|" not in posted
    assert incident.runbook_id is None  # no runbook shares words with that


async def test_protected_environment_is_refused_inside_the_modal(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    await (await emulator.driver.slash_command("dave", "general", "new")).acked()
    view = await emulator.wait_for_view("dave", callback_id=DECLARE_CALLBACK)
    await (await emulator.driver.submit_view("dave", view.id, _form("db down", env="prod"))).acked()
    errors = emulator.workspace.views[view.id].errors
    assert list(errors) == ["environment"] and "declare-protected" in errors["environment"]
    assert await services.store.list_open_incidents() == []
    denied = [a for a in await services.store.read_audit() if a.actor == DAVE]
    assert [a.outcome for a in denied] == ["declare-protected"]
    # The same person may declare in staging from the same modal.
    await (await emulator.driver.submit_view("dave", view.id, _form("db down"))).acked()
    assert (await wait_incident(stack, "INC-1", provisioned=False)).environment == "staging"


async def test_global_shortcut_opens_the_same_modal(stack: SandboxStack) -> None:
    emulator = stack.emulator
    await (await emulator.driver.global_shortcut("carol", GLOBAL_SHORTCUT)).acked()
    view = await emulator.wait_for_view("carol", callback_id=DECLARE_CALLBACK)
    await (await emulator.driver.submit_view("carol", view.id, _form("checkout errors"))).acked()
    incident = await wait_incident(stack, "INC-1")
    assert incident.runbook_id == "checkout-errors"
    dm = await emulator.wait_until(lambda: emulator.dm("carol"), what="carol's DM")
    await emulator.wait_for_message(dm.id, "Opening INC-1")


async def test_message_shortcut_quotes_the_message_into_the_timeline(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    posted = await emulator.driver.post_user_message("bob", "general", HOSTILE)
    await (await emulator.driver.message_shortcut("alice", "general", posted.message.ts, MESSAGE_SHORTCUT)).acked()
    view = await emulator.wait_for_view("alice", callback_id=DECLARE_CALLBACK)
    description = next(b for b in view.definition["blocks"] if b["block_id"] == "description")
    assert description["element"]["initial_value"] == HOSTILE
    await (await emulator.driver.submit_view("alice", view.id, _form("checkout broken"))).acked()
    incident = await wait_incident(stack, "INC-1")
    quoted = [e for e in await services.store.read_timeline(incident.id) if e.data.get("kind") == "quoted_message"]
    assert len(quoted) == 1 and quoted[0].type is EventType.MESSAGE
    assert quoted[0].data["author"] == BOB and quoted[0].data["ts"] == posted.message.ts
    assert quoted[0].data["permalink"].endswith("p" + posted.message.ts.replace(".", ""))
    assert HOSTILE in quoted[0].summary


async def test_new_with_flags_still_declares_at_once(stack: SandboxStack) -> None:
    emulator = stack.emulator
    text = 'new "checkout errors" --service checkout --severity P1 --env staging'
    await (await emulator.driver.slash_command("alice", "general", text)).acked()
    incident = await wait_incident(stack, "INC-1")
    assert (incident.severity.value, incident.commander, incident.runbook_id) == ("P1", ALICE, "checkout-errors")
    await (await emulator.driver.slash_command("alice", "general", "new --severity P9")).acked()
    await emulator.wait_for_ephemeral("alice", "title")
    assert not emulator.views("alice")


async def test_a_redelivered_submission_opens_one_incident(stack: SandboxStack) -> None:
    services = stack.bot.services
    assert services is not None
    declaration, _ = check_declaration(_form("checkout errors"))  # type: ignore[arg-type]
    assert declaration is not None
    args = (services.store, services.flows, services.catalog, declaration, ALICE)
    first = await declare_incident_flow(*args, request_id="V0SAME")
    again = await declare_incident_flow(*args, request_id="V0SAME")
    assert first is not None and again is None
    assert [i.id for i in await services.store.list_open_incidents()] == [first.id]
