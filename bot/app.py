"""The composition root: builds store, Slack app, web server and background work from one Settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

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
from bot.connections import Redis, RedisHandle
from bot.durable import DurableJobs
from bot.engine.responder import RunbookResponder
from bot.escalation.deliveries import DeliveryConfig
from bot.escalation.engine import Escalator
from bot.escalation.loader import EscalationConfig, load_escalation
from bot.escalation.reminders import Reminders
from bot.escalation.scheduler import TimerScheduler
from bot.escalation.service import EscalationService
from bot.escalation.timer_migration import finish_migration, migrate_timers
from bot.escalation.timers import TimerStore
from bot.incidents.closing import ArchiveTimers
from bot.incidents.flows import IncidentFlows
from bot.incidents.lifecycle import reopen_window
from bot.incidents.provision import PROVISION_TIMER, ProvisionGuard
from bot.incidents.store import IncidentStore
from bot.incidents.timings import observe_move, refresh_open_gauge
from bot.intake.routes import add_alert_routes
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from bot.policy.roles_file import RoleBook, roles_path
from bot.policy.rules import ActionRateLimit
from bot.policy.trust import TrustBook, trust_path
from bot.redis_topology import connect_configured, wait_replicas
from bot.replicafence import ReplicaFence, fenced
from bot.runbooks.catalog import Catalog, load_catalog
from bot.runbooks.watcher import CatalogWatcher
from bot.services import BotServices
from bot.settings import Settings
from bot.slack import listeners
from bot.slack.approval_listeners import SlackApprovalPresenter
from bot.slack.archive import SlackChannelArchiver
from bot.slack.clock import MonotonicClock
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.http_mode import SlackHttpEndpoint, add_slack_routes
from bot.slack.notifier import ChannelPolicy, SlackNotifier
from bot.slack.paging import SlackPager, SlackReminder
from bot.slack.ratelimit import RateLimiter
from bot.slack.shared_budget import SharedBudget
from bot.slack.verify_listeners import SlackOutcomePresenter
from bot.stakeholders import Stakeholders, build_stakeholders
from bot.statusweb import add_status_routes
from bot.tasks import TaskSupervisor
from bot.web import CheckResult, build_web_app, connection_limits, ping_within, start_http_server

log = logging.getLogger(__name__)

# /readyz's Redis PING gets this long, well inside the endpoint's own deadline.
READINESS_REDIS_S = 0.3


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: base URL from settings (Slack or the emulator), retries for network and 5xx."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # 429s are not retried here: the gateway's outbox honours Retry-After for the whole method instead.
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=3), AsyncServerErrorRetryHandler(2)],
    )


def gateway_config(settings: Settings) -> GatewayConfig:
    """The Slack gateway's deadline, attempt timeout and attempt budget from settings."""
    return GatewayConfig(
        deadline=settings.slack_call_deadline_s,
        attempt_timeout=settings.slack_attempt_timeout_s,
        max_attempts=settings.slack_max_attempts,
    )


def shared_budget(settings: Settings, redis: Redis, keys: Keys) -> SharedBudget | None:
    """The Slack budget kept in Redis (SLACK_SHARED_BUDGET, on unless set false), shared by every replica.

    On for the embedded store too: its window per tier is exact where the local token bucket is not (a bucket
    lets its burst through on top of a full window's rate, and Slack answers 429), at one round trip a call.
    """
    enabled = settings.slack_shared_budget
    if enabled is None:
        enabled = True
    return SharedBudget(redis, keys, MonotonicClock(), scale=settings.slack_rate_scale) if enabled else None


def escalation_folder(settings: Settings) -> Path:
    """Where escalation policies and schedules live."""
    return settings.escalation_path or settings.runbooks_path / "escalation"


def load_escalation_config(settings: Settings) -> EscalationConfig | None:
    """The escalation policies and schedules, or None when the folder has no policies (escalation off)."""
    folder = escalation_folder(settings)
    if not (folder / "policies.yaml").exists():
        log.warning("no escalation policies: paging is off", extra={"folder": str(folder)})
        return None
    return load_escalation(folder)


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
    gateway: SlackGateway | None = None
    # One timer scheduler per process: every durable timer kind registers its handler on it.
    timers: TimerScheduler | None = None
    # The Bolt app: fed by Socket Mode, or by /slack/events on the HTTP server when SLACK_MODE=http.
    bolt: AsyncApp | None = None
    stakeholders: Stakeholders | None = None
    dead_letters: DeadLetters | None = None
    # Reloads the catalog when a runbook file changes (RUNBOOK_WATCH_S).
    watcher: asyncio.Task[None] | None = None

    async def start(self) -> BotServices:
        """Connect everything; raises ConfigError or StoreError with a clear message, leaving nothing running."""
        self.settings.require_slack()
        try:
            services = await self._build()
            await self._start_slack(services)
            await self._start_web(services)
        except BaseException:
            await self.stop()
            raise
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # uvloop or asyncio (bot/loops.py)
        log.info("runbook-bot started", extra={"http_port": self.http_port, "loop": loop})
        return services

    async def _build(self) -> BotServices:
        settings = self.settings
        self.redis = await connect_configured(settings)
        keys = Keys(settings.redis_prefix, timer_shards=settings.timer_shards)
        legacy_timers_leased = await migrate_timers(self.redis.client, keys)
        store = IncidentStore(
            self.redis.client,
            keys,
            reopen_window=reopen_window(settings.reopen_window_minutes),
            timeline_max_len=settings.timeline_max_len,
            audit_max_len=settings.audit_max_len,
        )
        gateway = self.gateway = SlackGateway(
            slack_client(settings),
            RateLimiter(scale=settings.slack_rate_scale),
            config=gateway_config(settings),
            budget=shared_budget(settings, self.redis.client, keys),
        )
        await gateway.start()
        catalog = self.catalog or load_catalog(settings.runbooks_path)
        for problem in catalog.problems:
            log.warning("runbook problem", extra={"problem": str(problem)})
        if settings.runbook_watch_s > 0:
            watcher = CatalogWatcher(catalog, settings.runbook_watch_s)
            self.watcher = asyncio.get_running_loop().create_task(watcher.run(), name="runbook-watcher")
        store.on_move = observe_move  # lifecycle timings for /metrics
        notifier = SlackNotifier(gateway, store, _channel_policy(settings))
        tasks = TaskSupervisor()
        if legacy_timers_leased:
            tasks.spawn(finish_migration(self.redis.client, keys), name="timer-migration")
        responder = RunbookResponder(catalog, settings, post_message=gateway.post_message)
        timer_store = TimerStore(self.redis.client, keys)
        # Jobs an earlier version listed in its own zset join the set the gauge and /readyz read.
        await DurableJobs(self.redis.client, keys, timer_store).adopt_legacy_dead()
        self.timers = TimerScheduler(timer_store)
        escalation_config = load_escalation_config(settings)
        escalation = self._escalation(escalation_config, store, timer_store, gateway)
        guard = ProvisionGuard(
            self.redis.client,
            keys,
            timer_store,
            retry_after=timedelta(seconds=settings.provision_retry_s),
            backoff=Backoff(cap_s=settings.provision_retry_cap_s),
            dead_letter_after=settings.dead_letter_after,
        )
        self.dead_letters = DeadLetters(self.redis.client, keys)
        flows = IncidentFlows(store, notifier, responder, tasks, escalation, guard)
        self.timers.register(PROVISION_TIMER, flows.on_provision_timer)
        approvals = self._approvals(store, keys, responder, gateway, tasks, timer_store)
        notifier.approvals = approvals
        notifier.roles = RoleBook(roles_path(settings.runbooks_path))
        people = self.stakeholders = build_stakeholders(
            settings, self.redis.client, keys, store, timer_store, self.timers, gateway, flows, escalation
        )
        archive_after = timedelta(hours=settings.archive_after_hours)
        closing = ArchiveTimers(store, timer_store, SlackChannelArchiver(gateway), archive_after)
        closing.register(self.timers)
        await self.timers.start()
        await approvals.start_executions()
        self.services = BotServices(
            settings, store, gateway, notifier, flows, tasks, approvals, escalation_config=escalation_config
        )
        self.services.updates, self.services.followups = people.updates, people.followups
        self.services.closing = closing
        self.services.catalog = catalog
        self.services.status_page = people.status_page
        return self.services

    def _escalation(
        self, config: EscalationConfig | None, store: IncidentStore, timers: TimerStore, gateway: SlackGateway
    ) -> EscalationService | None:
        if config is None or self.timers is None:
            return None
        pager = SlackPager(gateway, store, self.settings)
        delivery = DeliveryConfig(
            backoff=Backoff(cap_s=self.settings.delivery_retry_cap_s), dead_letter_after=self.settings.dead_letter_after
        )
        escalator = Escalator(store, timers, config, pager, delivery=delivery)
        pager.escalator = escalator
        reminders = Reminders(store, timers, SlackReminder(gateway))
        escalator.register(self.timers)
        reminders.register(self.timers)
        return EscalationService(
            escalator,
            reminders,
            pager.refresh_countdown,
            status_every=timedelta(minutes=self.settings.status_reminder_minutes),
            commander_after=timedelta(minutes=self.settings.commander_reminder_minutes),
        )

    def _approvals(
        self,
        store: IncidentStore,
        keys: Keys,
        responder: RunbookResponder,
        gateway: SlackGateway,
        tasks: TaskSupervisor,
        timers: TimerStore,
    ) -> ApprovalService:
        assert self.redis is not None and self.timers is not None
        approval_store = ApprovalStore(self.redis.client, keys)
        approvals = ApprovalService(
            approval_store,
            store,
            responder,
            SlackApprovalPresenter(gateway, approval_store),
            ActionRateLimit(self.redis.client, keys),
            TrustBook(trust_path(self.settings.runbooks_path)),
            self.settings,
            tasks,
            timers=timers,
            lifetime_s=self.settings.approval_lifetime_s,
            outcomes=SlackOutcomePresenter(gateway),
        )
        self.timers.register(EXPIRY_TIMER, approvals.on_expiry_timer)
        return approvals

    async def _start_slack(self, services: BotServices) -> None:
        bolt = AsyncApp(
            client=services.gateway.client, request_verification_enabled=False, process_before_response=False
        )
        listeners.register(bolt, services)
        self.bolt = bolt
        if self.settings.slack_mode == "http":
            return  # Slack POSTs to the HTTP server instead: see _start_web
        token = self.settings.slack_app_token.get_secret_value() if self.settings.slack_app_token else ""
        self.socket = AsyncSocketModeHandler(bolt, token)
        await self.socket.connect_async()  # type: ignore[no-untyped-call]

    async def _start_web(self, services: BotServices) -> None:
        refresh = partial(refresh_open_gauge, services.store)
        web_app = build_web_app(
            self.readiness, self.settings.webhook_max_body_bytes, before_metrics=refresh, degraded=self.degraded
        )
        assert self.redis is not None
        settings = self.settings
        fence = ReplicaFence(
            self.redis.client, Keys(settings.redis_prefix), wait_replicas(settings), settings.redis_wait_timeout_ms
        )
        add_alert_routes(web_app, settings, fenced(services.flows, fence))
        if self.settings.slack_mode == "http" and self.bolt is not None:
            add_slack_routes(web_app, self._slack_endpoint(self.bolt))
        if self.stakeholders is not None and self.stakeholders.builtin_page is not None:
            add_status_routes(web_app, self.stakeholders.builtin_page)
        # Behind the connection guard: header deadline and connection cap (docs/intake.md, "Hostile clients").
        server = await start_http_server(
            web_app, self.settings.http_host, self.settings.http_port, connection_limits(self.settings)
        )
        self.web_runner = server.runner
        self.http_port = server.port

    def _slack_endpoint(self, bolt: AsyncApp) -> SlackHttpEndpoint:
        secret = self.settings.slack_signing_secret
        return SlackHttpEndpoint(
            bolt,
            secret.get_secret_value() if secret else "",
            max_body_bytes=self.settings.webhook_max_body_bytes,
            body_timeout_s=self.settings.webhook_body_timeout_s,
        )

    async def readiness(self) -> dict[str, CheckResult]:
        """Redis answering (within a bound, else the reason) and Socket Mode connected (HTTP mode: route served)."""
        redis_ok: CheckResult = "not connected"
        if self.redis is not None:
            redis_ok = await ping_within(self.redis.client.ping, READINESS_REDIS_S)
        if self.settings.slack_mode == "http":
            return {"redis": redis_ok, "slack_http": self.bolt is not None and self.web_runner is not None}
        socket_ok = False
        if self.socket is not None:
            socket_ok = await self.socket.client.is_connected()
        return {"redis": redis_ok, "slack_socket": socket_ok}

    async def degraded(self) -> str | None:
        """Why the bot is degraded (work in the dead-letter set), or None."""
        return await self.dead_letters.readiness() if self.dead_letters is not None else None

    async def stop(self) -> None:
        """Stop taking work, finish what is running, then close connections; safe after a partial start."""
        if self.watcher is not None:
            self.watcher.cancel()
            await asyncio.gather(self.watcher, return_exceptions=True)
            self.watcher = None
        if self.web_runner is not None:
            await self.web_runner.cleanup()
            self.web_runner = None
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
            self.socket = None
        self.bolt = None
        if self.services is not None and self.services.approvals is not None:
            # Running steps get up to their own timeout, then are killed and marked interrupted.
            await self.services.approvals.stop_executions()
        if self.timers is not None:
            await self.timers.stop()
            self.timers = None
        if self.services is not None:
            await self.services.tasks.join(within=10)
            await self.services.tasks.cancel_all()
            self.services = None
        if self.stakeholders is not None:
            await self.stakeholders.aclose()
            self.stakeholders = None
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None
        if self.redis is not None:
            await self.redis.close()
            self.redis = None


def _channel_policy(settings: Settings) -> ChannelPolicy:
    return ChannelPolicy(
        name_template=settings.channel_name_template,
        private=settings.private_channels,
        incidents_channel=settings.incidents_channel,
        responder_usergroup=settings.responder_usergroup,
    )
