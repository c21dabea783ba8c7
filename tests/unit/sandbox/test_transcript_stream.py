"""The terminal transcript prints each message once, again when it is edited, and ephemerals with their reader."""

from __future__ import annotations

import asyncio
import re

from bot.sandbox.emulator.records import Edit, Ephemeral
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.workspace_seed import BOT_ID, BOT_USER_ID, add_bot_user, seed_default_workspace
from bot.sandbox.terminal import TranscriptStream


def workspace() -> Workspace:
    ticks = iter(range(1_732_350_000, 1_732_360_000))
    ws = Workspace("T0", "team", "A0", BOT_USER_ID, BOT_ID, clock=lambda: float(next(ticks)))
    add_bot_user(ws)
    seed_default_workspace(ws)
    return ws


def untimed(lines: list[str]) -> list[str]:
    return [re.sub(r"\[\d\d:\d\d:\d\d\] ", "", line) for line in lines]


def test_new_messages_edits_and_ephemerals_are_written_once() -> None:
    ws = workspace()
    lines: list[str] = []
    stream = TranscriptStream(ws, lines.append)
    incidents = ws.channel_or_raise("incidents")
    first = ws.post_as_bot(incidents, text="first")
    stream.flush()
    assert untimed(lines) == ["\n#incidents", "first"]

    stream.flush()
    assert len(lines) == 2  # nothing new, nothing written

    first.edits.append(Edit(edited_at=ws.next_ts(), text=first.text, blocks=None))
    first.text = "first, edited"
    general = ws.channel_or_raise("general")
    ws.post(general, "U0BOB00001", text="hello from bob")
    ws.ephemerals.append(Ephemeral(ws.next_ts(), general.id, "U0CAROL001", "just for carol", None, "ack"))
    stream.flush()
    assert untimed(lines[2:]) == [
        "\n#general",
        "hello from bob",
        "(only carol sees) just for carol",
        "\n#incidents",
        "first, edited (edited)",
    ]


async def test_run_writes_as_changes_happen_and_stops() -> None:
    ws = workspace()
    lines: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(TranscriptStream(ws, lines.append).run(stop))
    await asyncio.sleep(0)
    ws.post_as_bot(ws.channel_or_raise("incidents"), text="live")
    ws.notify()
    for _ in range(50):
        if any("live" in line for line in lines):
            break
        await asyncio.sleep(0.01)
    assert lines[-1].endswith("live")
    stop.set()
    ws.notify()
    await asyncio.wait_for(task, 2)


def test_mentions_are_shown_by_name() -> None:
    ws = workspace()
    lines: list[str] = []
    incidents = ws.channel_or_raise("incidents")
    ws.post_as_bot(incidents, text=f"paging <@U0ALICE001> in <#{incidents.id}> and <@U0GONE|gone>")
    TranscriptStream(ws, lines.append).flush()
    assert untimed(lines)[-1] == "paging @alice in #incidents and @gone"


def test_mentions_of_people_channels_and_groups_show_their_names() -> None:
    ws = workspace()
    stream = TranscriptStream(ws, lambda _: None)
    incidents = ws.channel_or_raise("incidents")
    group = next(g for g in ws.groups.values() if g.handle == "dba-oncall")
    line = f"paging <@U0BOB00001>, <!subteam^{group.id}> and <!subteam^S0GONE|@old-team> in <#{incidents.id}>"
    assert stream.named(line) == "paging @bob, @dba-oncall and @old-team in #incidents"
