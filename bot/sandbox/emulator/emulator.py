"""SlackEmulator: start and stop the emulated Slack, seed it, drive it and inspect it."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from bot.sandbox.emulator.alert_panel import AlertPanel, AlertScenario
from bot.sandbox.emulator.control import add_control_routes
from bot.sandbox.emulator.delivery import AckRecord, Delivery
from bot.sandbox.emulator.driver import DEFAULT_EVENTS, Driver
from bot.sandbox.emulator.errors import EmulatorError
from bot.sandbox.emulator.fault_routes import add_fault_routes
from bot.sandbox.emulator.faults import SOCKET_MODE_METHOD, Fault, FaultMode
from bot.sandbox.emulator.http_delivery import HttpDeliverer, HttpDeliveryConfig
from bot.sandbox.emulator.methods_files import add_upload_routes
from bot.sandbox.emulator.queries import WorkspaceQueries
from bot.sandbox.emulator.ratelimit import RateLimitConfig, RateLimiter
from bot.sandbox.emulator.records import CallRecord, Channel, User, UserGroup
from bot.sandbox.emulator.response_url import ResponseUrls
from bot.sandbox.emulator.server import EmulatorServer
from bot.sandbox.emulator.socket_mode import Connection, SocketHub, SocketModeConfig
from bot.sandbox.emulator.state import Workspace, random_id
from bot.sandbox.emulator.validation import check_channel_name
from bot.sandbox.emulator.webui import WebUi
from bot.sandbox.emulator.workspace_seed import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    add_bot_user,
    seed_default_workspace,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


class SlackEmulator(WorkspaceQueries):
    """An emulated Slack workspace served over HTTP and WebSocket to the unchanged slack-sdk."""

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        app_token: str | None = None,
        team_id: str = DEFAULT_TEAM_ID,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        app_id: str = DEFAULT_APP_ID,
        default_workspace: bool = True,
        rate_limits: RateLimitConfig | bool = False,
        rate_scale: float = 1.0,
        socket_mode: SocketModeConfig | None = None,
        subscribed_events: Iterable[str] = DEFAULT_EVENTS,
    ) -> None:
        self.bot_token = bot_token or f"xoxb-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self.app_token = app_token or f"xapp-1-{app_id}-{secrets.randbelow(10**12)}-{secrets.token_hex(16)}"
        self.workspace = Workspace(team_id, team_domain, app_id, BOT_USER_ID, BOT_ID)
        add_bot_user(self.workspace)
        if default_workspace:
            seed_default_workspace(self.workspace)
        if isinstance(rate_limits, bool):
            rate_limits = RateLimitConfig(enabled=rate_limits, rate_scale=rate_scale)
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(rate_limits)
        self.socket_mode = socket_mode or SocketModeConfig()
        self.hub = SocketHub(self.socket_mode, app_id, self.workspace.notify)
        self.responses = ResponseUrls(self.workspace, lambda: self.base_url)
        self.driver = Driver(
            self.workspace, self.hub, self.responses, secrets.token_urlsafe(18), frozenset(subscribed_events)
        )
        self.workspace.event_sink = self.driver.emit_event
        self.faults = FaultMode()
        self._server = EmulatorServer(
            self.workspace, self.hub, self.responses, self.limiter, (self.bot_token, self.app_token), self.faults
        )
        self.webui = WebUi(self.workspace)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._address: tuple[str, int] | None = None
        self._base_url: str | None = None
        self._fault_tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); return the Web API URL ending in /api/."""
        if self._runner is not None:
            raise EmulatorError("emulator already started")
        application = self._server.application()
        add_fault_routes(application, self.faults, self.fault, self.clear_faults)
        add_control_routes(application, self.workspace, self.driver, self.hub)
        self.webui.add_routes(application)
        add_upload_routes(application, self.workspace)
        runner = web.AppRunner(application, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner, self._site = runner, site
        bound_port = runner.addresses[0][1]
        self._address = (host, bound_port)
        self._base_url = f"http://{host}:{bound_port}"
        self.workspace.documents.upload_base = self._base_url
        return self.api_url

    async def stop(self) -> None:
        """Close every socket and the HTTP server."""
        if self._runner is None:
            return
        self.webui.close()
        for task in list(self._fault_tasks):
            task.cancel()
        await asyncio.gather(*self._fault_tasks, return_exceptions=True)
        self.faults.clear()  # releases requests held by a latency fault
        if self.driver.http is not None:
            await self.driver.http.close()
        await self.hub.close()
        await self._runner.cleanup()
        self._runner, self._site = None, None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def deliver_over_http(self, request_url: str, signing_secret: str, **options: Any) -> HttpDeliverer:
        """From now on POST every delivery to the app's request URL, signed, instead of using Socket Mode."""
        config = HttpDeliveryConfig(request_url, signing_secret, **options)
        self.driver.http = HttpDeliverer(config, self.workspace.notify)
        return self.driver.http

    @property
    def base_url(self) -> str:
        """http://host:port of the running emulator."""
        if self._base_url is None:
            raise EmulatorError("emulator not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        """The Web API base URL for SLACK_API_URL / AsyncWebClient(base_url=...)."""
        return self.base_url + "/api/"

    @property
    def page_url(self) -> str:
        """The web page showing the workspace."""
        return self.base_url + "/"

    def set_alert_target(self, webhook_url: str, token: str, scenarios: Callable[[], Sequence[AlertScenario]]) -> None:
        """Let the page's alert panel fire `scenarios()` at the bot's webhook with its token."""
        self.webui.panel = AlertPanel(webhook_url, token, scenarios)

    @property
    def team_id(self) -> str:
        """The workspace's team id."""
        return self.workspace.team_id

    @property
    def app_id(self) -> str:
        """The app's id."""
        return self.workspace.app_id

    @property
    def bot_user_id(self) -> str:
        """The bot user's id."""
        return self.workspace.bot_user_id

    # --- seeding ------------------------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        real_name: str = "",
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        id: str | None = None,
    ) -> User:
        """Add a person (or another bot) to the workspace."""
        return self.workspace.add_user(User(id or random_id("U"), name, real_name or name, email, tz, is_bot))

    def add_usergroup(
        self,
        handle: str,
        users: Iterable[str],
        *,
        name: str | None = None,
        id: str | None = None,
        description: str = "",
        disabled: bool = False,
        channels: Iterable[str] = (),
    ) -> UserGroup:
        """Add a user group; users by id, name or email, default channels by id or name."""
        user_ids = [self.workspace.user_or_raise(ref).id for ref in users]
        channel_ids = [self.workspace.channel_or_raise(ref).id for ref in channels]
        group = UserGroup(id or random_id("S"), handle, name or handle, user_ids, description, disabled, channel_ids)
        return self.workspace.add_group(group)

    def create_channel(
        self, name: str, members: Iterable[str] = (), *, bot_member: bool = False, is_private: bool = False
    ) -> Channel:
        """Create a channel as a person would (the first member creates it); the bot joins only if asked."""
        check_channel_name(name)
        user_ids = [self.workspace.user_or_raise(ref).id for ref in members]
        if bot_member:
            user_ids.append(self.bot_user_id)
        if not user_ids:
            raise EmulatorError("a channel needs at least one member")
        channel = self.workspace.create_channel(name, user_ids[0], is_private=is_private, members=user_ids)
        self.workspace.notify()
        return channel

    # --- records -------------------------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[CallRecord]:
        """Every Web API call received (optionally of one method), in order."""
        return [c for c in self._server.calls if method in (None, c.method)]

    @property
    def acks(self) -> list[AckRecord]:
        """Every Socket Mode ack received, in order."""
        return list(self.hub.acks)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every payload sent over Socket Mode, in order."""
        return list(self.hub.deliveries)

    @property
    def ratelimited_count(self) -> int:
        """How many HTTP 429 answers were sent."""
        return self.limiter.limited_count

    @property
    def connections(self) -> list[Connection]:
        """Open Socket Mode connections."""
        return [c for c in self.hub.connections.values() if c.open]

    # --- fault mode ---------------------------------------------------------------------------------------------

    async def fault(
        self,
        kind: str,
        *,
        methods: Iterable[str] | None = None,
        status: int = 500,
        retry_after: int = 30,
        latency: float = 0.0,
        seconds: float | None = None,
    ) -> Fault:
        """Switch a fault on (see bot.sandbox.emulator.faults); `seconds` ends it on its own."""
        fault = self.faults.add(
            kind, methods=methods, status=status, retry_after=retry_after, latency=latency, seconds=seconds
        )
        if kind in ("reset", "refuse") and fault.covers(SOCKET_MODE_METHOD, self.faults.clock()):
            self.hub.reset_all()
        if kind == "refuse":
            await self._sync_listener()
            if seconds is not None:
                task = asyncio.create_task(self._end_refusal(seconds))
                self._fault_tasks.add(task)
                task.add_done_callback(self._fault_tasks.discard)
        return fault

    async def clear_faults(self, kind: str | None = None, fault_id: str | None = None) -> int:
        """Switch faults off: all of them, one kind, or one by id; return how many."""
        removed = self.faults.clear(kind, fault_id)
        await self._sync_listener()
        return removed

    async def _end_refusal(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        try:
            await self._sync_listener()
        except EmulatorError:
            log.exception("emulator: the refuse fault ended but the listener could not reopen")

    async def _sync_listener(self) -> None:
        """Close the listening socket while a refuse fault is active, reopen it on the same port after."""
        if self._runner is None or self._address is None:
            return
        refusing = self.faults.refusing() is not None
        if refusing and self._site is not None:
            site, self._site = self._site, None
            await site.stop()
        elif not refusing and self._site is None:
            site = web.TCPSite(self._runner, *self._address)
            try:
                await site.start()
            except OSError as exc:
                raise EmulatorError(f"cannot listen again on {self._address}: {exc}") from exc
            self._site = site

    # --- Socket Mode control ------------------------------------------------------------------------------------

    async def disconnect(self, reason: str = "refresh_requested", connection_id: str | None = None) -> int:
        """Send `disconnect` (warning or refresh_requested) to one or all sockets; return how many."""
        return await self.hub.disconnect(reason, connection_id)

    def summary(self) -> dict[str, Any]:
        """A short picture of the workspace for logs and failure messages."""
        return {
            "channels": {c.name: len(c.messages) for c in self.channels()},
            "connections": len(self.connections),
            "calls": len(self._server.calls),
            "ratelimited": self.ratelimited_count,
        }
