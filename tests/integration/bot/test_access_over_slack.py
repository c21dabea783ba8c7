"""Who may do what, over the emulator: a bystander is refused and audited, paging goes on, responders still act."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.alerts import utcnow
from bot.connections import Redis
from bot.incidents.models import Status
from bot.keys import Keys
from bot.policy.access import AccessPolicy, AccessRole, allowed_roles
from bot.sandbox.stack import SandboxStack, start_sandbox
from bot.slack.commands import REGISTRY
from tests.integration.bot.conftest import RUNBOOKS, alertmanager_payload, post_alert

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")

SANDBOX_ESCALATION = Path(__file__).resolve().parents[3] / "bot" / "sandbox" / "escalation"
ALICE, DAVE = "U0ALICE001", "U0DAVE0001"
# dave is in no user group, not on call and not invited; the sandbox policy pages after minutes, not seconds.
BYSTANDER_COMMANDS = {
    f"commander <@{DAVE}> INC-1": "commander-self",
    "resolve INC-1": "resolve",
    "close INC-1": "close",
    "pause INC-1": "pause",
    "reopen INC-1": "reopen",
    "mitigating INC-1": "mitigating",
    "ack INC-1": "ack",
    "resume INC-1": "resume",
    "update INC-1 all good": "update",
    "request health INC-1": "request",
    "postmortem INC-1": "postmortem",
    "followup INC-1 all good": "followup",
    "note INC-1 all good": "note",
    "role scribe me INC-1": "role-self",
    f"role communications <@{ALICE}> INC-1": "role",
    "severity P1 INC-1": "severity",
}


def test_every_guarded_subcommand_is_tried_by_the_bystander() -> None:
    tried = {text.split()[0] for text in BYSTANDER_COMMANDS}
    guarded = {name for name in REGISTRY if name != "new" and not is_open_to_anyone(name)}
    assert guarded <= tried, guarded - tried


def is_open_to_anyone(name: str) -> bool:
    _, roles = allowed_roles(name, None, AccessPolicy())
    return AccessRole.ANYONE in roles


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        escalation_path=SANDBOX_ESCALATION,
        data_dir=tmp_path,
    )
    yield started
    await started.stop()


async def open_incident(stack: SandboxStack) -> str:
    assert (await post_alert(stack, alertmanager_payload(group="access"))).status_code == 202
    channel = await stack.emulator.wait_for_channel("inc-1-api-api-latency-high-access", timeout=10)
    await stack.emulator.wait_for_message(channel.id, f"Paging* <@{ALICE}>", timeout=10)
    return channel.id


async def test_bystander_is_refused_audited_and_paging_goes_on(stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None and services.flows.escalation is not None
    await open_incident(stack)
    escalator = services.flows.escalation.escalator
    later = utcnow() + timedelta(seconds=30)  # level 1 fires at once; later levels wait minutes
    pending_before = {p.timer_id for p in await escalator.pending_pages("INC-1") if p.due_at > later}
    assert pending_before, "the sandbox policy plans a second level"

    for text, rule in BYSTANDER_COMMANDS.items():
        await (await slack.driver.slash_command("dave", "general", text)).acked()
        reply = await slack.wait_for_ephemeral("dave", f"access rule `{rule}`", timeout=5)
        assert "you may not run" in (reply.text or "") and "allows" in (reply.text or "")

    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.status is Status.TRIGGERED and incident.commander is None and not incident.paused
    assert not [e for e in await services.store.read_timeline("INC-1") if "all good" in e.summary]
    assert pending_before <= {p.timer_id for p in await escalator.pending_pages("INC-1")}
    denied = [e for e in await services.store.read_audit("INC-1") if e.action == "access.denied"]
    assert [(e.actor, e.outcome) for e in denied] == [(DAVE, rule) for rule in BYSTANDER_COMMANDS.values()]
    assert all(e.data["channel"] == slack.channel("general").id for e in denied)

    # Anyone may look; the on-call (alice, paged) may act, and takes command of the unclaimed incident.
    await (await slack.driver.slash_command("dave", "general", "status INC-1")).acked()
    await slack.wait_for_ephemeral("dave", "status *triggered*", timeout=5)
    await (await slack.driver.slash_command("alice", "general", f"commander <@{ALICE}> INC-1")).acked()
    await slack.wait_for_ephemeral("alice", "is now commander of INC-1", timeout=5)
    await (await slack.driver.slash_command("alice", "general", "pause INC-1")).acked()
    await slack.wait_for_ephemeral("alice", "Automation paused on INC-1", timeout=5)
    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.commander == ALICE and incident.commander_set_by == ALICE and incident.paused


async def test_the_ack_button_is_refused_to_a_bystander(stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None
    channel = await open_incident(stack)
    page = await slack.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=5)
    await slack.driver.join("dave", channel)
    await slack.driver.click_button("dave", channel, page.ts, "escalation_ack")
    # Joining the channel makes dave a responder: the ack is his to give.
    await slack.wait_for_ephemeral("dave", "acknowledged", timeout=5)
    assert (await services.store.get_incident_or_raise("INC-1")).status is Status.ACKNOWLEDGED


async def test_declaring_in_a_protected_environment_needs_the_on_call(stack: SandboxStack) -> None:
    slack = stack.emulator
    services = stack.bot.services
    assert services is not None
    await (await slack.driver.slash_command("dave", "general", 'new "db down" --service api --env prod')).acked()
    await slack.wait_for_ephemeral("dave", "access rule `declare-protected`", timeout=5)
    assert await services.store.get_incident("INC-1") is None
    await (await slack.driver.slash_command("dave", "general", 'new "db slow" --service api --env staging')).acked()
    await slack.wait_for_ephemeral("dave", "Opening INC-1", timeout=5)
    await (await slack.driver.slash_command("alice", "general", 'new "db down" --service api --env prod')).acked()
    await slack.wait_for_ephemeral("alice", "Opening INC-2", timeout=5)
    assert (await services.store.get_incident_or_raise("INC-2")).environment == "prod"
    denied = [e for e in await services.store.read_audit() if e.action == "access.denied"]
    assert [(e.actor, e.outcome, e.incident_id) for e in denied] == [(DAVE, "declare-protected", None)]


async def test_incident_admins_from_the_file_and_its_reload(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    policy = runbooks / "policy" / "access.yaml"
    policy.parent.mkdir()
    policy.write_text("incident_admins: [S0SRE00001]\n")  # alice, bob, carol
    started = await start_sandbox(
        redis_url=redis_url, redis_prefix=keys.prefix, runbooks_path=runbooks, data_dir=tmp_path / "data"
    )
    try:
        slack = started.emulator
        assert (await post_alert(started, alertmanager_payload(group="admins"))).status_code == 202
        await slack.wait_for_channel("inc-1-api-api-latency-high-admins", timeout=10)
        await (await slack.driver.slash_command("carol", "general", "pause INC-1")).acked()
        await slack.wait_for_ephemeral("carol", "Automation paused on INC-1", timeout=5)
        await (await slack.driver.slash_command("dave", "general", "resume INC-1")).acked()
        await slack.wait_for_ephemeral("dave", "access rule `resume`", timeout=5)

        policy.write_text("incident_admins: [U0DAVE0001]\n")
        os.utime(policy, (2_000_000_000, 2_000_000_000))  # a new mtime even within the same second
        await (await slack.driver.slash_command("dave", "general", "resume INC-1")).acked()
        await slack.wait_for_ephemeral("dave", "Automation resumed on INC-1", timeout=5)
        await (await slack.driver.slash_command("carol", "general", "pause INC-1")).acked()
        await slack.wait_for_ephemeral("carol", "access rule `pause`", timeout=5)
    finally:
        await started.stop()


async def test_a_person_paged_for_the_incident_is_a_responder(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    escalation = tmp_path / "escalation"
    escalation.mkdir()
    # dave is paged by name: no schedule names him, he is in no group and not in the channel.
    (escalation / "policies.yaml").write_text(
        "default: direct\npolicies:\n  direct:\n    levels:\n"
        "      - targets: [{user: U0DAVE0001}]\n        wait_minutes: 5\n"
    )
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        escalation_path=escalation,
        data_dir=tmp_path / "data",
    )
    try:
        slack = started.emulator
        assert (await post_alert(started, alertmanager_payload(group="paged"))).status_code == 202
        channel = await slack.wait_for_channel("inc-1-api-api-latency-high-paged", timeout=10)
        await slack.wait_for_message(channel.id, f"Paging* <@{DAVE}>", timeout=10)
        assert DAVE not in channel.members
        await (await slack.driver.slash_command("carol", "general", "ack INC-1")).acked()
        await slack.wait_for_ephemeral("carol", "access rule `ack`", timeout=5)
        await (await slack.driver.slash_command("dave", "general", "ack INC-1")).acked()
        await slack.wait_for_ephemeral("dave", "INC-1 acknowledged by", timeout=5)
    finally:
        await started.stop()
