"""http_request: one HTTP call to a service's admin endpoint, with the call that undoes it."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from bot.connections import redact_url
from bot.errors import UpstreamError
from hooks.base import ActionOutput, BaseAction, HookConfig, HookContext, RollbackSpec
from hooks.guards import HttpUrl
from hooks.registry import register
from hooks.transport import make_client, translate_http_errors

SYSTEM = "admin endpoint"
MAX_OUTPUT = 500


class HttpRequestConfig(HookConfig):
    """Config of http_request."""

    url: HttpUrl = Field(description="the endpoint to call (URLs built from alert data must pass the URL guard)")
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = Field(default="POST", description="HTTP method")
    json_body: dict[str, Any] | None = Field(default=None, description="JSON body to send")
    expect_status: list[int] | None = Field(default=None, description="statuses that count as done; default 2xx")
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout")
    rollback_url: HttpUrl | None = Field(default=None, description="the endpoint whose call undoes this one")
    rollback_method: Literal["POST", "PUT", "PATCH", "DELETE"] = Field(default="POST", description="its method")


@register
class HttpRequest(BaseAction):
    """Call an admin endpoint once; the result is its status and the start of its answer."""

    name: ClassVar[str] = "http_request"
    help: ClassVar[str] = "One HTTP call to an admin endpoint (POST by default); rollback_url undoes it"
    config_model: ClassVar[type[HttpRequestConfig]] = HttpRequestConfig

    def describe(self, config: HttpRequestConfig, ctx: HookContext) -> str:
        """The call, its body, and whether something undoes it."""
        body = f" with {config.json_body}" if config.json_body else ""
        undo = (
            f" Undo: {config.rollback_method} {redact_url(config.rollback_url)}."
            if config.rollback_url
            else " Not undoable."
        )
        return f"{config.method} {redact_url(config.url)}{body}.{undo}"

    async def perform(self, config: HttpRequestConfig, ctx: HookContext) -> ActionOutput:
        """Make the call; a status outside expect_status (default 2xx) is an UpstreamError."""
        async with make_client(config.timeout_s) as client:
            with translate_http_errors(SYSTEM, config.url):
                response = await client.request(config.method, config.url, json=config.json_body)
        passed = response.status_code in config.expect_status if config.expect_status else response.is_success
        text = response.text[:MAX_OUTPUT].strip()
        where = redact_url(config.url)
        if not passed:
            raise UpstreamError(f"{config.method} {where} answered HTTP {response.status_code}: {text}")
        return ActionOutput(
            ok=True,
            output=f"{config.method} {where} → {response.status_code}: {text}",
            data={"status": response.status_code},
        )

    def rollback(
        self, config: HttpRequestConfig, ctx: HookContext, output: ActionOutput | None = None
    ) -> RollbackSpec | None:
        """The rollback_url call, when the runbook declares one."""
        if config.rollback_url is None:
            return None
        spec = {"url": config.rollback_url, "method": config.rollback_method, "timeout_s": config.timeout_s}
        return RollbackSpec(self.name, spec)
