"""Closing over the emulator: the check and its buttons, the durable archive on a moved clock, reopen, the draft."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.connections import Redis
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.closing import ARCHIVE_TIMER, CHANNEL_ARCHIVED, CHANNEL_UNARCHIVED, archive_timer_id
from bot.incidents.models import Status
from bot.incidents.names import NameCache
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.records import Channel
from bot.sandbox.stack import SandboxStack
from bot.services import BotServices
from bot.slack.close_commands import CloseAction
from tests.manual_clock import ManualClock

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

ALICE = "U0ALICE001"


async def command(emulator: SlackEmulator, user: str, channel: str, text: str, reply: str) -> str:
    await (await emulator.driver.slash_command(user, channel, text)).acked(timeout=5)
    return (await emulator.wait_for_ephemeral(user, reply, timeout=10)).text or ""


async def resolved_incident(stack: SandboxStack) -> Channel:
    emulator = stack.emulator
    await command(emulator, "alice", "incidents", 'new "disk full" --service jobs', "Opening")
    channel = await emulator.wait_for_channel("inc-1-jobs-disk-full", timeout=10)
    await emulator.wait_for_message(channel.id, "INC-1", timeout=10)
    await command(emulator, "alice", channel.id, "resolve", "resolved")
    return channel


async def click(emulator: SlackEmulator, channel: Channel, action: CloseAction) -> None:
    asks = [e for e in emulator.ephemerals("alice", channel.id) if e.blocks and "Close anyway" in str(e.blocks)]
    await (await emulator.driver.click_button("alice", channel.id, asks[-1].ts, action.value)).acked(timeout=5)


def kinds(events: list[object]) -> list[str]:
    return [str(getattr(e, "data", {}).get("kind")) for e in events]


async def test_close_asks_archives_on_its_durable_timer_and_reopen_unarchives(
    stack: SandboxStack, redis: Redis, keys: Keys
) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await resolved_incident(stack)

    reply = await command(emulator, "alice", channel.id, "close", "Not closed")
    assert "no post-mortem draft and no follow-ups" in reply
    await click(emulator, channel, CloseAction.CREATE_DRAFT)
    await emulator.wait_for_ephemeral("alice", "Draft posted as a canvas", timeout=10)
    incident = await services.store.get_incident_or_raise("INC-1")
    [canvas_id] = emulator.workspace.documents.canvases
    assert incident.links["postmortem"] == f"https://runbook-sandbox.slack.com/docs/T0EMULATOR/{canvas_id}"
    assert incident.status is Status.RESOLVED

    reply = await command(emulator, "alice", channel.id, "close", "Not closed")
    assert "no follow-ups" in reply and "post-mortem" not in reply
    await click(emulator, channel, CloseAction.CLOSE_ANYWAY)
    await emulator.wait_for_ephemeral("alice", "INC-1 closed by", timeout=10)
    closed = await services.store.get_incident_or_raise("INC-1")
    assert closed.status is Status.CLOSED and closed.closed_at is not None
    timer = await TimerStore(redis, keys).get(archive_timer_id("INC-1"))
    assert timer is not None and timer.kind == ARCHIVE_TIMER
    assert timedelta(hours=24) <= timer.due_at - closed.closed_at < timedelta(hours=24, seconds=5)

    # Another replica whose clock is a day on: nothing before the timer is due, the archive once it is.
    clock = ManualClock(closed.closed_at)
    later = await _later_replica(services, redis, keys, clock)
    try:
        await clock.advance(timedelta(hours=23, minutes=59).total_seconds())
        await later.pump()
        await later.drain()
        assert not emulator.channel(channel.id).is_archived
        await clock.advance(120)
        assert await later.pump() == 1
        await later.drain()
        assert emulator.channel(channel.id).is_archived
        # Fired again (a lost lease, a second arming): already archived is fine, recorded once.
        await TimerStore(redis, keys).arm(archive_timer_id("INC-1"), clock.now(), ARCHIVE_TIMER, {"incident": "INC-1"})
        assert await later.pump() == 1
        await later.drain()
    finally:
        await later.stop(timeout_s=1)
    assert kinds(await services.store.read_timeline("INC-1")).count(CHANNEL_ARCHIVED) == 1
    assert later.stats.failed == 0

    # Nobody can type in an archived channel: the reopen comes from elsewhere.
    await command(emulator, "alice", "incidents", "reopen INC-1", "reopened")
    assert not emulator.channel(channel.id).is_archived
    assert await TimerStore(redis, keys).get(archive_timer_id("INC-1")) is None
    assert kinds(await services.store.read_timeline("INC-1"))[-1] == CHANNEL_UNARCHIVED
    await emulator.wait_for_message(channel.id, "triggered", timeout=10)  # the header is redrawn in the live channel


async def test_close_anyway_word_and_a_close_that_needs_nothing(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await resolved_incident(stack)
    services.settings.close_requires = ""
    reply = await command(emulator, "alice", channel.id, "close", "INC-1 closed")
    assert "archived at" in reply
    await command(emulator, "alice", channel.id, "close", "cannot move from closed to closed")


async def test_draft_falls_back_to_a_markdown_file_with_display_names(
    stack: SandboxStack, redis: Redis, keys: Keys
) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    emulator.workspace.documents.canvases_enabled = False
    channel = await resolved_incident(stack)
    reply = await command(emulator, "alice", channel.id, "postmortem", "Post-mortem draft for INC-1 posted as a file")
    [upload] = emulator.workspace.documents.files.values()
    text = (upload.content or b"").decode()
    assert upload.completed and upload.channels == [channel.id] and upload.filename == "inc-1-postmortem.md"
    assert text.startswith("# Post-mortem draft: INC-1 disk full") and "| Commander | alice |" in text
    assert ALICE not in text and upload.id in reply
    assert await NameCache(redis, keys).get_many([ALICE]) == {ALICE: "alice"}
    assert not emulator.workspace.documents.canvases


async def _later_replica(services: BotServices, redis: Redis, keys: Keys, clock: ManualClock) -> TimerScheduler:
    scheduler = TimerScheduler(TimerStore(redis, keys), SchedulerConfig(lease_s=30), clock=clock.now, sleep=clock.sleep)
    assert services.closing is not None
    services.closing.register(scheduler)
    await scheduler.start(ticking=False)
    return scheduler
