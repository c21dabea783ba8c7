"""A whole bot against the Slack emulator: what `runbookctl sandbox`, drills and end-to-end tests start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.sandbox.emulator import RateLimitConfig, SlackEmulator
from bot.sandbox.emulator.alert_panel import AlertScenario
from bot.settings import Settings, load_settings
from bot.slack.http_mode import SLACK_PATH

SANDBOX_WEBHOOK_TOKEN = "sandbox-webhook-token"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class SandboxStack:
    """The emulator, the bot wired to it, and the settings both share."""

    emulator: SlackEmulator
    bot: BotApp
    settings: Settings

    @property
    def webhook_url(self) -> str:
        """Base URL of the bot's HTTP server."""
        return f"http://{self.settings.http_host}:{self.bot.http_port}"

    async def stop(self) -> None:
        """Stop the bot, then the emulator."""
        await self.bot.stop()
        await self.emulator.stop()


async def start_sandbox(
    *,
    redis_url: str | None = None,
    data_dir: Path | None = None,
    runbooks_path: Path | None = None,
    rate_limits: bool = False,
    rate_scale: float = 1.0,
    http_port: int = 0,
    scenarios: Callable[[], Sequence[AlertScenario]] = list,
    **overrides: Any,
) -> SandboxStack:
    """Start the emulator and a bot pointed at it (embedded Valkey when `redis_url` is None).

    `scenarios` lists the alerts the emulator's page may fire at the bot's webhook.
    """
    # Our rate_scale speeds limits up; the emulator's stretches its windows, hence the inverse.
    emulator = SlackEmulator(rate_limits=RateLimitConfig(enabled=rate_limits, rate_scale=1 / rate_scale))
    await emulator.start()
    try:
        incidents = emulator.channel("incidents").id
        values: dict[str, Any] = {
            "slack_api_url": emulator.api_url,
            "slack_bot_token": emulator.bot_token,
            "slack_app_token": emulator.app_token,
            "redis_url": redis_url,
            "webhook_token": SANDBOX_WEBHOOK_TOKEN,
            "http_port": http_port,
            "incidents_channel": incidents,
            "slack_rate_scale": rate_scale if rate_limits else 1.0,
            "environment": "sandbox",
        }
        if data_dir is not None:
            values["runbook_bot_data_dir"] = data_dir
        if runbooks_path is not None:
            values["runbooks_path"] = runbooks_path
        values.update(overrides)
        # Signed requests are what HTTP mode (SLACK_MODE=http, or slack_mode="http") checks.
        values.setdefault("slack_signing_secret", SANDBOX_SIGNING_SECRET)
        settings = load_settings(**values)
        bot = BotApp(settings)
        await bot.start()
        if settings.slack_mode == "http" and settings.slack_signing_secret is not None:
            # The emulator plays Slack with request URLs: every delivery is POSTed to the bot, signed.
            url = f"http://{settings.http_host}:{bot.http_port}{SLACK_PATH}"
            emulator.deliver_over_http(url, settings.slack_signing_secret.get_secret_value())
    except BaseException:
        await emulator.stop()
        raise
    stack = SandboxStack(emulator, bot, settings)
    emulator.set_alert_target(stack.webhook_url, SANDBOX_WEBHOOK_TOKEN, scenarios)
    return stack
