"""notify: a Slack message (through the bot's sender) or a JSON webhook post."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from bot.errors import BotError, HookError, UpstreamError
from hooks.base import ActionOutput, BaseAction, HookConfig, HookContext
from hooks.guards import HttpUrl
from hooks.registry import register
from hooks.transport import make_client, translate_http_errors

MAX_TEXT = 4000


def webhook_host(url: str) -> str:
    """Scheme and host of a webhook: its path often is the secret (Slack incoming webhooks)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class NotifyConfig(HookConfig):
    """Config of notify."""

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="message text (Slack mrkdwn)")
    channel: str | None = Field(default=None, description="Slack channel; default: the incident channel")
    webhook_url: HttpUrl | None = Field(default=None, description='post {"text": ...} here instead of Slack')
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout for webhooks")


def destination(config: NotifyConfig, ctx: HookContext) -> tuple[str, str]:
    """('webhook', url) or ('slack', channel), in this order: webhook_url, channel, NOTIFY_WEBHOOK_URL, ctx.channel."""
    if config.webhook_url:
        return "webhook", config.webhook_url
    if config.channel:
        return "slack", config.channel
    if ctx.settings.notify_webhook_url:
        return "webhook", ctx.settings.notify_webhook_url
    if ctx.channel:
        return "slack", ctx.channel
    raise HookError("notify has nowhere to post: give channel or webhook_url, or set NOTIFY_WEBHOOK_URL")


@register
class Notify(BaseAction):
    """Tell people something: a Slack channel message or a webhook."""

    name: ClassVar[str] = "notify"
    help: ClassVar[str] = "Message to a Slack channel (through the bot) or a JSON webhook"
    config_model: ClassVar[type[NotifyConfig]] = NotifyConfig

    def describe(self, config: NotifyConfig, ctx: HookContext) -> str:
        """Where the message goes and what it says."""
        try:
            kind, target = destination(config, ctx)
        except HookError as exc:
            return f"Post a message - REFUSED: {exc}"
        if kind == "slack":
            # The incident's own channel reads better by that name than by its id in the approval text.
            where = "this incident's channel" if target == ctx.channel else f"Slack channel {target}"
        else:
            where = f"webhook at {webhook_host(target)}"
        return f"Post to {where}: {config.text!r}. Not undoable."

    async def perform(self, config: NotifyConfig, ctx: HookContext) -> ActionOutput:
        """Send the message."""
        kind, target = destination(config, ctx)
        if kind == "slack":
            if ctx.post_message is None:
                raise HookError("notify to a Slack channel needs the bot's message sender (HookContext.post_message)")
            try:
                await ctx.post_message(target, config.text)
            except BotError:
                raise
            except Exception as exc:
                raise UpstreamError(f"posting to Slack channel {target} failed: {exc}") from exc
            return ActionOutput(ok=True, output=f"posted to {target}", data={"channel": target})
        async with make_client(config.timeout_s) as client:
            with translate_http_errors("notify webhook", webhook_host(target)):
                response = await client.post(target, json={"text": config.text})
        where = webhook_host(target)
        if not response.is_success:
            raise UpstreamError(
                f"notify webhook at {where} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        return ActionOutput(
            ok=True, output=f"posted to webhook {where} ({response.status_code})", data={"webhook": where}
        )
