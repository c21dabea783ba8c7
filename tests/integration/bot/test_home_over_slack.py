"""The App Home tab over the emulator: published on app_home_opened, incidents and on-call, a declare button."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.emulator.records import View
from bot.sandbox.stack import SandboxStack, start_sandbox
from bot.slack.declare_view import DECLARE_CALLBACK
from bot.slack.home import HOME_DECLARE
from tests.integration.bot.lifecycle_stack import (
    ALICE,
    BOB,
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


def home_of(stack: SandboxStack, user: str) -> View | None:
    found = [v for v in stack.emulator.views(user) if v.type == "home"]
    return found[-1] if found else None


async def test_home_tab_shows_incidents_and_on_call_and_declares(stack: SandboxStack) -> None:
    emulator = stack.emulator
    text = f"new '{HOSTILE[:100]}' --service checkout --severity P2 --env staging"
    await (await emulator.driver.slash_command("alice", "general", text)).acked()
    await wait_incident(stack, "INC-1", provisioned=False)

    delivery = await emulator.driver.open_home("carol")
    assert delivery is not None
    await delivery.acked()
    home = await emulator.wait_until(lambda: home_of(stack, "carol"), what="carol's home tab")
    shown = json.dumps(home.definition["blocks"])
    assert "*INC-1* P2" in shown and "investigating" in shown and f"commander <@{ALICE}>" in shown
    assert "open " in shown and "<!channel>" not in shown and "<https://e.test|" not in shown
    # The sandbox schedules: alice primary, bob secondary; one-person rotations have no "next".
    assert f"`api-primary`: <@{ALICE}>" in shown and f"`api-secondary`: <@{BOB}>" in shown

    # Opening it again after a change republishes the same view.
    await (await emulator.driver.slash_command("alice", "general", "severity P1 INC-1")).acked()
    await emulator.wait_for_ephemeral("alice", "severity P2 → P1")
    await (await emulator.driver.open_home("carol")).acked()  # type: ignore[union-attr]
    await emulator.wait_until(
        lambda: "*INC-1* P1" in json.dumps(emulator.workspace.views[home.id].definition), what="home with P1"
    )
    assert len([v for v in emulator.views("carol") if v.type == "home"]) == 1

    await (await emulator.driver.click_view_button("carol", home.id, HOME_DECLARE)).acked()
    modal = await emulator.wait_for_view("carol", callback_id=DECLARE_CALLBACK)
    assert modal.type == "modal"
