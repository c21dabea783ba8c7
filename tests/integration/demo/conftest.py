"""A demo sandbox (emulator, bot, demo service) on this test's key prefix with the shipped runbooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.incidents.models import Status
from bot.keys import Keys
from bot.sandbox.emulator.records import Channel
from bot.sandbox.session import DemoSandbox, start_demo_sandbox
from bot.settings import load_settings

RUNBOOKS = Path(__file__).resolve().parents[3] / "runbooks"


@pytest.fixture
async def demo(redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[DemoSandbox]:
    settings = load_settings(redis_url=redis_url, runbook_bot_data_dir=tmp_path, runbooks_path=RUNBOOKS)
    started = await start_demo_sandbox(settings, prefix=keys.prefix)
    yield started
    await started.stop()


async def fire(demo: DemoSandbox, scenario: str) -> tuple[str, Channel]:
    panel = demo.stack.emulator.webui.panel
    assert panel is not None
    status, body = await panel.fire(scenario)
    assert status == 202, body
    incident = body["alerts"][0]["incident"]
    emulator = demo.stack.emulator
    channel = await emulator.wait_until(
        lambda: next((c for c in emulator.channels() if c.name.startswith(f"inc-{incident[4:]}-")), None), 15, "channel"
    )
    return incident, channel


async def wait_resolved(demo: DemoSandbox, incident: str, within_s: float = 15.0) -> None:
    """Poll the store until the incident is resolved (the demo service sends the resolved alert)."""
    services = demo.stack.bot.services
    assert services is not None
    for _ in range(int(within_s / 0.1)):
        if (await services.store.get_incident_or_raise(incident)).status is Status.RESOLVED:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{incident} did not resolve within {within_s} s")
