"""runbookctl followups: lists follow-ups from the store the bot uses, filtered by --open and --incident."""

from __future__ import annotations

import asyncio

import pytest

from bot.alerts import utcnow
from bot.cli import main
from bot.connections import Redis
from bot.followups.models import FollowUpStatus
from bot.followups.store import FollowUpStore
from bot.keys import Keys


async def test_lists_all_open_and_one_incident(
    redis: Redis, redis_url: str, keys: Keys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FollowUpStore(redis, keys)
    first = await store.add("INC-1", "Add pool alert", "U0BOB00001", "U0ALICE001", utcnow())
    await store.add("INC-1", "Write the runbook", None, "U0ALICE001", utcnow())
    await store.add("INC-2", "Rotate logs", None, "U0ALICE001", utcnow())

    def done(item: object) -> None:
        item.status = FollowUpStatus.DONE  # type: ignore[attr-defined]

    await store.update("INC-1", first.id, done)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", keys.prefix)

    def run(*args: str) -> list[str]:
        # main() runs its own event loop: run it in a thread so this test's loop stays free.
        assert main(["followups", *args]) == 0
        return capsys.readouterr().out.splitlines()

    everything = await asyncio.to_thread(run)
    assert [line.split("\t")[:3] for line in everything] == [
        ["INC-1-F1", "done", "U0BOB00001"],
        ["INC-1-F2", "outstanding", "-"],
        ["INC-2-F1", "outstanding", "-"],
    ]
    assert [line.split("\t")[0] for line in await asyncio.to_thread(run, "--open")] == ["INC-1-F2", "INC-2-F1"]
    assert [line.split("\t")[0] for line in await asyncio.to_thread(run, "--incident", "inc-2")] == ["INC-2-F1"]
