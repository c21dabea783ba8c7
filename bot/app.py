"""The composition root: builds store, Slack app, web server and background work from one Settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.service import EXPIRY_TIMER, ApprovalService
from bot.approvals.store import ApprovalStore
from bot.connections import RedisHandle, connect
from bot.engine.responder import RunbookResponder
from bot.escalation.scheduler import TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.flows import IncidentFlows
from bot.incidents.lifecycle import reopen_window
from bot.incidents.store import IncidentStore
from bot.intake.routes import add_alert_routes
from bot.keys import Keys
from bot.policy.rules import ActionRateLimit
from bot.policy.trust import TrustBook, trust_path
from bot.runbooks.catalog import Catalog, load_catalog
from bot.services import BotServices
from bot.settings import Settings
from bot.slack import listeners
from bot.slack.approval_listeners import SlackApprovalPresenter
from bot.slack.gateway import SlackGateway
from bot.slack.notifier import ChannelPolicy, SlackNotifier
from bot.slack.ratelimit import RateLimiter
from bot.tasks import TaskSupervisor
from bot.web import build_web_app

log = logging.getLogger(__name__)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: base URL from settings (Slack or the emulator), retries for network and 5xx."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # 429s are not retried here: the gateway's outbox honours Retry-After for the whole method instead.
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=3), AsyncServerErrorRetryHandler(2)],
    )


@dataclass
class BotApp:
    """One running bot: Socket Mode, webhooks, background work; start() then stop()."""

    settings: Settings
    catalog: Catalog | None = None
    redis: RedisHandle | None = None
    services: BotServices | None = None
    socket: AsyncSocketModeHandler | None = None
    web_runner: web.AppRunner | None = None
    http_port: int | None = None
    # One timer scheduler per process: every durable timer kind registers its handler on it.
    timers: TimerScheduler | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> BotServices:
        """Connect everything; raises ConfigError or StoreError with a clear message when it cannot."""
        settings = self.settings
        settings.require_slack()
        self.redis = await connect(settings.redis_url, settings.data_dir)
        store = IncidentStore(
            self.redis.client,
            Keys(settings.redis_prefix),
            reopen_window=reopen_window(settings.reopen_window_minutes),
            timeline_max_len=settings.timeline_max_len,
            audit_max_len=settings.audit_max_len,
        )
        client = slack_client(settings)
        gateway = SlackGateway(client, RateLimiter(scale=settings.slack_rate_scale))
        await gateway.start()
        catalog = self.catalog or load_catalog(settings.runbooks_path)
        for problem in catalog.problems:
            log.warning("runbook problem", extra={"problem": str(problem)})
        policy = ChannelPolicy(
            name_template=settings.channel_name_template,
            private=settings.private_channels,
            incidents_channel=settings.incidents_channel,
            responder_usergroup=settings.responder_usergroup,
        )
        notifier = SlackNotifier(gateway, store, policy)
        tasks = TaskSupervisor()
        responder = RunbookResponder(catalog, settings, post_message=gateway.post_message)
        flows = IncidentFlows(store, notifier, responder, tasks)
        keys = Keys(settings.redis_prefix)
        timer_store = TimerStore(self.redis.client, keys)
        approval_store = ApprovalStore(self.redis.client, keys)
        approvals = ApprovalService(
            approval_store,
            store,
            responder,
            SlackApprovalPresenter(gateway, approval_store),
            ActionRateLimit(self.redis.client, keys),
            TrustBook(trust_path(settings.runbooks_path)),
            settings,
            tasks,
            timers=timer_store,
        )
        notifier.approvals = approvals
        self.timers = TimerScheduler(timer_store)
        self.timers.register(EXPIRY_TIMER, approvals.on_expiry_timer)
        await self.timers.start()
        self.services = BotServices(settings, store, gateway, notifier, flows, tasks, approvals)

        bolt = AsyncApp(client=client, request_verification_enabled=False, process_before_response=False)
        listeners.register(bolt, self.services)
        app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
        self.socket = AsyncSocketModeHandler(bolt, app_token)
        await self.socket.connect_async()  # type: ignore[no-untyped-call]

        web_app = build_web_app(self.readiness, settings.webhook_max_body_bytes)
        add_alert_routes(web_app, settings, flows)
        self.web_runner = web.AppRunner(web_app, access_log=None)
        await self.web_runner.setup()
        site = web.TCPSite(self.web_runner, settings.http_host, settings.http_port)
        await site.start()
        self.http_port = self.web_runner.addresses[0][1]
        log.info("runbook-bot started", extra={"http_port": self.http_port, "runbooks": len(catalog.runbooks)})
        return self.services

    async def readiness(self) -> dict[str, bool]:
        """Redis reachable and Socket Mode connected."""
        redis_ok = False
        if self.redis is not None:
            try:
                redis_ok = bool(await self.redis.client.ping())
            except Exception:
                redis_ok = False
        socket_ok = False
        if self.socket is not None:
            socket_ok = await self.socket.client.is_connected()
        return {"redis": redis_ok, "slack_socket": socket_ok}

    async def stop(self) -> None:
        """Stop taking work, finish what is running, then close connections."""
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.timers is not None:
            await self.timers.stop()
        if self.services is not None:
            await self.services.tasks.join(within=10)
            await self.services.tasks.cancel_all()
            await self.services.gateway.stop()
        if self.redis is not None:
            await self.redis.close()
