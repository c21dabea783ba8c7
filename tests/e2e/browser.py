"""Chromium for the emulator-page tests: the browser, a page opened on a URL, a scenario fired up to its plan."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

CHROMIUM = "/usr/bin/chromium"
EXECUTABLE = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
WAIT_MS = 30_000
# Every browser test is slow and needs Debian's chromium.
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(
        EXECUTABLE is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it",
    ),
]


@asynccontextmanager
async def opened_page(url: str, height: int) -> AsyncIterator[Any]:
    """A Chromium page 1280 wide and `height` tall on `url`; the browser closes at exit."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=EXECUTABLE, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1280, "height": height})
        opened = await context.new_page()
        await opened.goto(url)
        yield opened
        await browser.close()


async def fire_until_approve(page: Any, person: str, scenario: str, channel: str, evidence: list[str]) -> Any:
    """Act as `person`, fire `scenario`, wait for the channel starting `channel`, the evidence lines, Approve."""
    expect = playwright_api.expect
    chosen = await page.select_option("#person", label=person)
    # The page acts as whoever it last loaded the view for: wait until that is `person` before firing.
    await expect(page.locator("body")).to_have_attribute("data-viewer", chosen[0], timeout=WAIT_MS)
    await page.click(f"button[data-scenario='{scenario}']")
    await expect(page.locator("#channel-name")).to_have_text(re.compile("^" + re.escape(channel)), timeout=WAIT_MS)
    messages = page.locator("#messages")
    first, *rest = evidence
    await expect(messages).to_contain_text(first, timeout=WAIT_MS)
    for line in rest:
        await expect(messages).to_contain_text(line)
    approve = messages.locator("button[data-action-id='approve_step']")
    await expect(approve).to_be_visible(timeout=WAIT_MS)
    return approve
