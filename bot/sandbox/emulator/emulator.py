"""SlackEmulator: start and stop the emulated Slack, seed it, drive it and inspect it."""

from __future__ import annotations

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
        self._server = EmulatorServer(
            self.workspace, self.hub, self.responses, self.limiter, (self.bot_token, self.app_token)
        )
        self.webui = WebUi(self.workspace)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); return the Web API URL ending in /api/."""
        if self._runner is not None:
            raise EmulatorError("emulator already started")
        application = self._server.application()
        add_control_routes(application, self.workspace, self.driver, self.hub)
        self.webui.add_routes(application)
        runner = web.AppRunner(application, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self._base_url = f"http://{host}:{bound_port}"
        return self.api_url

    async def stop(self) -> None:
        """Close every socket and the HTTP server."""
        if self._runner is None:
            return
        self.webui.close()
        await self.hub.close()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

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
        self, handle: str, users: Iterable[str], *, name: str | None = None, id: str | None = None
    ) -> UserGroup:
        """Add a user group; users by id, name or email."""
        user_ids = [self.workspace.user_or_raise(ref).id for ref in users]
        return self.workspace.add_group(UserGroup(id or random_id("S"), handle, name or handle, user_ids))

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
