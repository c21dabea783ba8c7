"""Shared by the browser tests: Chromium through Playwright on the emulator's page, and firing a scenario there.

Importing this module skips the importing test module when the playwright package is missing; tests add
`NEEDS_CHROMIUM` to their `pytestmark` so they skip where Debian's chromium is not installed.
"""

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
# The bot answers through real HTTP and Redis; generous, since CI shares two cores.
WAIT_MS = 30_000

NEEDS_CHROMIUM = [
    pytest.mark.slow,
    pytest.mark.skipif(
        EXECUTABLE is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it",
    ),
]


@asynccontextmanager
async def open_page(url: str, height: int) -> AsyncIterator[Any]:
    """A Chromium page 1280 px wide showing `url`; the browser closes on exit."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=EXECUTABLE, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1280, "height": height})
        opened = await context.new_page()
        await opened.goto(url)
        yield opened
        await browser.close()


async def fire_and_wait_for_approve(
    page: Any, person: str, scenario: str, channel: str, diagnostics: str, evidence: str
) -> Any:
    """Act as `person`, fire `scenario` from the panel, wait for #`channel`…, the evidence and the Approve button."""
    expect = playwright_api.expect
    await page.select_option("#person", label=person)
    await page.click(f"button[data-scenario='{scenario}']")
    await expect(page.locator("#channel-name")).to_have_text(re.compile(f"^#{re.escape(channel)}"), timeout=WAIT_MS)
    messages = page.locator("#messages")
    await expect(messages).to_contain_text(f"Diagnostics: {diagnostics}", timeout=WAIT_MS)
    await expect(messages).to_contain_text(evidence)
    approve = messages.locator("button[data-action-id='approve_step']")
    await expect(approve).to_be_visible(timeout=WAIT_MS)
    return approve
