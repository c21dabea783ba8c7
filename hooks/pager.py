"""page: raise (or resolve) an alert through PagerDuty Events API v2 or the Opsgenie alert API."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field

from bot.errors import HookError
from hooks.base import ActionOutput, BaseAction, HookConfig, HookContext, RollbackSpec
from hooks.registry import register
from hooks.transport import json_body, make_client, raise_for_status, translate_http_errors

Severity = Literal["critical", "error", "warning", "info"]
OPSGENIE_PRIORITY = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P5"}
SOURCE = "runbook-bot"


class PageConfig(HookConfig):
    """Config of page."""

    provider: Literal["pagerduty", "opsgenie"] = Field(description="which pager")
    summary: str = Field(min_length=1, max_length=1024, description="what the on-call person reads first")
    severity: Severity = Field(default="critical", description="critical, error, warning or info")
    dedup_key: str | None = Field(default=None, description="groups pages; default: runbook-bot/<incident id>")
    action: Literal["trigger", "resolve"] = Field(default="trigger", description="open the alert, or resolve it")
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout")
    details: dict[str, str] = Field(default_factory=dict, description="extra custom details (level, page id)")


def dedup_key(config: PageConfig, ctx: HookContext) -> str | None:
    """The key that ties a trigger to its resolve: the configured one, else derived from the incident."""
    if config.dedup_key:
        return config.dedup_key
    return f"runbook-bot/{ctx.incident_id}" if ctx.incident_id else None


def _details(ctx: HookContext) -> dict[str, Any]:
    return {"incident": ctx.incident_id, "environment": ctx.environment, "service": ctx.service}


def _secret(value: Any, setting: str) -> str:
    if value is None or not value.get_secret_value():
        raise HookError(f"page needs {setting}; it is not set")
    return str(value.get_secret_value())


async def send_pagerduty(config: PageConfig, ctx: HookContext) -> dict[str, Any]:
    """POST one Events API v2 event; returns PagerDuty's answer (status, message, dedup_key)."""
    event: dict[str, Any] = {
        "routing_key": _secret(ctx.settings.pagerduty_routing_key, "PAGERDUTY_ROUTING_KEY"),
        "event_action": config.action,
    }
    key = dedup_key(config, ctx)
    if key:
        event["dedup_key"] = key
    if config.action == "trigger":
        event["payload"] = {
            "summary": config.summary,
            "source": ctx.service or SOURCE,
            "severity": config.severity,
            "custom_details": {**_details(ctx), **config.details},
        }
    url = ctx.settings.pagerduty_events_url
    async with make_client(config.timeout_s) as client:
        with translate_http_errors("PagerDuty", url):
            response = await client.post(url, json=event)
    raise_for_status(response, "PagerDuty")
    body = json_body(response, "PagerDuty")
    return body if isinstance(body, dict) else {"answer": body}


async def send_opsgenie(config: PageConfig, ctx: HookContext) -> dict[str, Any]:
    """Create an alert (alias = dedup key) or close it by alias; returns Opsgenie's answer."""
    headers = {"Authorization": "GenieKey " + _secret(ctx.settings.opsgenie_api_key, "OPSGENIE_API_KEY")}
    base = ctx.settings.opsgenie_api_url.rstrip("/")
    key = dedup_key(config, ctx)
    if config.action == "resolve":
        if not key:
            raise HookError("resolving an Opsgenie alert needs a dedup_key (or an incident id)")
        url = f"{base}/{quote(key, safe='')}/close"
        params: dict[str, str] = {"identifierType": "alias"}
        body: dict[str, Any] = {"source": SOURCE, "note": config.summary}
    else:
        url, params = base, {}
        body = {
            "message": config.summary[:130],
            "description": config.summary,
            "priority": OPSGENIE_PRIORITY[config.severity],
            "source": SOURCE,
            "details": {**{k: str(v) for k, v in _details(ctx).items() if v is not None}, **config.details},
            **({"alias": key} if key else {}),
        }
    async with make_client(config.timeout_s, headers=headers) as client:
        with translate_http_errors("Opsgenie", url):
            response = await client.post(url, params=params, json=body)
    raise_for_status(response, "Opsgenie")
    answer = json_body(response, "Opsgenie")
    return answer if isinstance(answer, dict) else {"answer": answer}


@register
class Page(BaseAction):
    """Page the on-call person through PagerDuty or Opsgenie."""

    name: ClassVar[str] = "page"
    help: ClassVar[str] = "Page on-call: PagerDuty Events API v2 or Opsgenie alert (trigger or resolve)"
    config_model: ClassVar[type[PageConfig]] = PageConfig

    def describe(self, config: PageConfig, ctx: HookContext) -> str:
        """Who gets paged, with what."""
        provider = "PagerDuty" if config.provider == "pagerduty" else "Opsgenie"
        key = dedup_key(config, ctx) or "none"
        if config.action == "resolve":
            return f"Resolve the {provider} alert with dedup key {key!r}."
        return f"Page on-call via {provider} ({config.severity}): {config.summary!r} (dedup key {key!r})."

    async def perform(self, config: PageConfig, ctx: HookContext) -> ActionOutput:
        """Send the event and report the pager's answer."""
        send = send_pagerduty if config.provider == "pagerduty" else send_opsgenie
        answer = await send(config, ctx)
        key = answer.get("dedup_key") or dedup_key(config, ctx)
        reference = answer.get("requestId") or key
        output = f"{config.provider} {config.action} accepted: {answer.get('message') or answer.get('result') or 'ok'}"
        return ActionOutput(ok=True, output=f"{output} ({reference})", data={"dedup_key": key, "answer": answer})

    def rollback(self, config: PageConfig, ctx: HookContext, output: ActionOutput | None = None) -> RollbackSpec | None:
        """A trigger is undone by resolving the same dedup key."""
        key = (output.data.get("dedup_key") if output else None) or dedup_key(config, ctx)
        if config.action != "trigger" or not key:
            return None
        spec = {"provider": config.provider, "summary": f"resolved: {config.summary}"[:1024], "dedup_key": key}
        return RollbackSpec(action="page", config={**spec, "action": "resolve"})
