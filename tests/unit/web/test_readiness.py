"""/readyz's body: bounded checks, each failing one with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from bot.intake.deadline import AnswerDeadline, DeadlinePassed
from bot.web import CheckResult, ping_within, readiness_body


async def test_a_failing_check_reports_its_reason() -> None:
    async def checks() -> Mapping[str, CheckResult]:
        return {"redis": "no answer within 0.5 s", "slack_socket": True}

    body = await readiness_body(checks, 1.0)
    assert body == {
        "ready": False,
        "checks": {"redis": False, "slack_socket": True},
        "reasons": {"redis": "no answer within 0.5 s"},
    }


async def test_checks_that_never_answer_make_it_not_ready_with_a_reason() -> None:
    never: asyncio.Future[Mapping[str, CheckResult]] = asyncio.get_running_loop().create_future()

    async def hang() -> Mapping[str, CheckResult]:
        return await never

    body = await readiness_body(hang, 0.01)
    assert body["ready"] is False and body["reasons"] == {"readiness": "checks did not answer within 0.01 s"}


async def test_ping_within_turns_errors_and_silence_into_reasons() -> None:
    async def ok() -> bool:
        return True

    async def broken() -> bool:
        raise ConnectionError("refused")

    async def silent() -> bool:
        await asyncio.Event().wait()
        return True

    assert await ping_within(ok, 1.0) is True
    assert await ping_within(broken, 1.0) == "ConnectionError: refused"
    assert await ping_within(silent, 0.01) == "no answer within 0.01 s"


async def test_work_past_the_deadline_goes_on_and_is_drained() -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def write() -> str:
        await release.wait()
        finished.append("written")
        return "done"

    deadline = AnswerDeadline(0.01)
    assert await deadline.run(_immediate()) == "now"
    with pytest.raises(DeadlinePassed):
        await deadline.run(write())
    assert deadline.pending == 1 and finished == []
    release.set()
    await deadline.drain(within_s=1.0)
    assert finished == ["written"] and deadline.pending == 0


async def _immediate() -> str:
    return "now"
