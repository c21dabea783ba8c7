"""The demo in Chromium: fire "database pool exhausted" from the page, approve as a DBA, see the fix in the
re-run diagnostics and the incident resolve; a person outside @dba-oncall is refused. Screenshots in tmp_path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.keys import Keys
from bot.sandbox.demo_service import HEALTHY
from bot.sandbox.session import DemoSandbox, start_demo_sandbox
from bot.settings import load_settings
from tests.e2e.browser import NEEDS_CHROMIUM, WAIT_MS, fire_and_wait_for_approve, open_page, playwright_api

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
async def demo(redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[DemoSandbox]:
    settings = load_settings(redis_url=redis_url, runbook_bot_data_dir=tmp_path, runbooks_path=RUNBOOKS)
    started = await start_demo_sandbox(settings, prefix=keys.prefix)
    yield started
    await started.stop()


@pytest.fixture
async def page(demo: DemoSandbox) -> AsyncIterator[Any]:
    async with open_page(demo.stack.emulator.page_url, height=1000) as opened:
        yield opened


async def fire_db_pool_exhausted(page: Any, person: str) -> Any:
    """Act as `person`, fire the scenario from the panel, wait for the evidence and the Approve button."""
    return await fire_and_wait_for_approve(
        page, person, "db-pool-exhausted", "inc-1-shop", "critical", "Database pool in use"
    )


async def test_a_dba_approves_and_the_fix_and_resolution_show(page: Any, demo: DemoSandbox, tmp_path: Path) -> None:
    expect = playwright_api.expect
    approve = await fire_db_pool_exhausted(page, "alice")
    await page.screenshot(path=tmp_path / "evidence.png", full_page=True)
    await approve.click()
    await page.click("#confirm-ok")  # the step is irreversible: Slack's confirm dialog first
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("Before → after", timeout=WAIT_MS)
    await expect(messages).to_contain_text(re.compile(r"Database pool in use.*critical.*→.*healthy"))
    await expect(messages).to_contain_text("INC-1 resolved", timeout=WAIT_MS)
    await page.screenshot(path=tmp_path / "resolved.png", full_page=True)
    assert demo.service.fault == HEALTHY


async def test_someone_outside_the_dba_group_is_refused(page: Any, demo: DemoSandbox, tmp_path: Path) -> None:
    expect = playwright_api.expect
    approve = await fire_db_pool_exhausted(page, "carol")
    await approve.click()
    await page.click("#confirm-ok")
    refusal = page.locator(".message.ephemeral")
    await expect(refusal).to_contain_text("not among the approvers", timeout=WAIT_MS)
    await expect(refusal).to_contain_text("@dba-oncall")
    await page.screenshot(path=tmp_path / "refused.png", full_page=True)
    assert demo.service.fault == "db-pool-exhausted"
