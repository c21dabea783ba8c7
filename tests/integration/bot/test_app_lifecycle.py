"""A bot that cannot start says why and leaves nothing running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.errors import ConfigError, RunbookError
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.settings import load_settings
from tests.integration.bot.conftest import RUNBOOKS


async def test_bad_escalation_file_stops_start_and_leaves_nothing_running(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    folder = tmp_path / "escalation"
    folder.mkdir()
    (folder / "policies.yaml").write_text(
        "default: x\npolicies:\n  x:\n    levels:\n      - targets: [{schedule: ghost}]\n"
    )
    async with SlackEmulator() as emulator:
        settings = load_settings(
            slack_api_url=emulator.api_url,
            slack_bot_token=emulator.bot_token,
            slack_app_token=emulator.app_token,
            redis_url=redis_url,
            redis_prefix=keys.prefix,
            runbooks_path=RUNBOOKS,
            escalation_path=folder,
            http_port=0,
        )
        bot = BotApp(settings)
        with pytest.raises(RunbookError, match="unknown schedules"):
            await bot.start()
        await asyncio.sleep(0)
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert "slack-outbox" not in names
        assert bot.redis is None and bot.timers is None and bot.gateway is None and bot.socket is None
        assert emulator.connections == []


async def test_missing_tokens_fail_before_anything_starts() -> None:
    bot = BotApp(load_settings())
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN, SLACK_APP_TOKEN"):
        await bot.start()
    assert bot.redis is None
