"""The demo sandbox as one unit: emulator, bot, demo storefront and demo service, wired to each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.demo import Storefront, demo_scenarios
from bot.sandbox.demo_service import DemoService, ResolveTarget
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from bot.settings import Settings

SANDBOX_ESCALATION = Path(__file__).resolve().parent / "escalation"
# Long enough to read the evidence and click in the page (the production default is 2 minutes).
SANDBOX_APPROVAL_LIFETIME_S = 15 * 60.0


@dataclass
class DemoSandbox:
    """Everything `runbookctl sandbox` and `runbookctl drill` run."""

    stack: SandboxStack
    storefront: Storefront
    storefront_url: str
    service: DemoService

    async def stop(self) -> None:
        """Stop the bot and emulator, then the demo services."""
        await self.stack.stop()
        await self.service.stop()
        await self.storefront.stop()


async def start_demo_sandbox(
    settings: Settings, *, prefix: str, http_port: int = 0, rate_limits: bool = False, **overrides: Any
) -> DemoSandbox:
    """Start the demo services, then the stack with their exact addresses allowed, then aim the resolver at it."""
    storefront, service = Storefront(), DemoService()
    storefront_url = await storefront.start()
    await service.start()
    try:
        allowed = {*settings.http_allowed_hosts, storefront_url.removeprefix("http://").rstrip("/"), service.netloc}
        values: dict[str, Any] = {
            "redis_url": settings.redis_url,
            "data_dir": settings.data_dir,
            "runbooks_path": settings.runbooks_path,
            "redis_prefix": prefix,
            "http_port": http_port,
            "rate_limits": rate_limits,
            "shell_allowlist": sorted({*settings.shell_allowlist, "echo", "uptime"}),
            # The demo alerts point the checks and actions at these exact loopback addresses, and nowhere else.
            "http_allowed_hosts": sorted(allowed),
            # The emulator's people are on call in the sandbox: alice first, then bob.
            "escalation_path": settings.escalation_path or SANDBOX_ESCALATION,
            "approval_lifetime_s": SANDBOX_APPROVAL_LIFETIME_S,
            "log_format": "text",
            "scenarios": lambda: demo_scenarios(storefront_url, service),
        }
        values.update(overrides)
        stack = await start_sandbox(**values)
    except BaseException:
        await service.stop()
        await storefront.stop()
        raise
    service.target = ResolveTarget(stack.webhook_url, SANDBOX_WEBHOOK_TOKEN)
    return DemoSandbox(stack, storefront, storefront_url, service)
