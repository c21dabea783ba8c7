"""The aiohttp application: Web API at /api/<method>, Socket Mode at /link/, response_urls at /response/<token>."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.faults import SOCKET_MODE_METHOD, FaultMode, reset_transport
from bot.sandbox.emulator.ratelimit import RateLimiter
from bot.sandbox.emulator.records import CallRecord
from bot.sandbox.emulator.response_url import ResponseUrls
from bot.sandbox.emulator.socket_mode import SocketHub
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.webapi import METHODS, check_token_for, run_method, token_kind

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_args(request: web.Request) -> dict[str, Any]:
    """Merge query-string, form and JSON-body arguments into one mapping, as Slack does."""
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return args
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise SlackApiFailure("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackApiFailure("invalid_json")
        args.update(body)
    elif request.content_type in FORM_TYPES:
        form = await request.post()
        args.update({key: value for key, value in form.items() if isinstance(value, str)})
    return args


def presented_token(request: web.Request, args: dict[str, Any]) -> str | None:
    """The bearer token from the Authorization header, else a `token` argument."""
    header = request.headers.get("Authorization", "")
    token = args.pop("token", None)
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return token if isinstance(token, str) else None


class EmulatorServer:
    """Routes requests to the workspace, the Socket Mode hub and the response_urls, recording every call."""

    def __init__(
        self,
        ws: Workspace,
        hub: SocketHub,
        responses: ResponseUrls,
        limiter: RateLimiter,
        tokens: tuple[str, str],
        faults: FaultMode | None = None,
    ) -> None:
        self.ws = ws
        self.faults = faults or FaultMode()
        self.hub = hub
        self.responses = responses
        self.limiter = limiter
        self.bot_token, self.app_token = tokens
        self.calls: list[CallRecord] = []

    def application(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle_api)
        app.router.add_get("/link/", self.handle_socket)
        app.router.add_post("/response/{token}", self.handle_response_url)
        return app

    async def handle_api(self, request: web.Request) -> web.Response:
        """One Web API call: parse, authenticate, rate-limit, run, record."""
        method = request.match_info["method"]
        args: dict[str, Any] = {}
        kind: str | None = None
        status, headers = 200, dict[str, str]()
        await self.faults.delay(method)
        if self._resets(method):
            self._record(CallRecord(method, args, time.time(), 0, False, "connection_reset", None))
            reset_transport(request.transport)
            return web.Response(status=500)  # never reaches the client: the connection is gone
        try:
            args = await read_args(request)
            token = presented_token(request, args)
            injected = self._injected_failure(method)
            if injected is not None:
                status, headers = injected
                raise SlackApiFailure("ratelimited" if status == 429 else "internal_error")
            if method not in METHODS and method != "apps.connections.open":
                raise SlackApiFailure("unknown_method")
            kind = token_kind(token, bot_token=self.bot_token, app_token=self.app_token)
            check_token_for(method, kind)
            retry_after = self.limiter.check(method, token or "", channel=args.get("channel"))
            if retry_after is not None:
                status, headers = 429, {"Retry-After": str(retry_after)}
                raise SlackApiFailure("ratelimited")
            body = (
                self._connections_open(request)
                if method == "apps.connections.open"
                else run_method(self.ws, method, args)
            )
        except SlackApiFailure as failure:
            body = failure.body()
        self._record(CallRecord(method, args, time.time(), status, bool(body.get("ok")), body.get("error"), kind))
        return web.json_response(body, status=status, headers=headers)

    def _record(self, record: CallRecord) -> None:
        self.calls.append(record)
        self.ws.notify()

    def _resets(self, method: str) -> bool:
        # A refusing emulator still has connections accepted before the listener closed: reset them too.
        if self.faults.refusing() is not None or self.faults.active(method, "reset") is not None:
            self.faults.injected += 1
            return True
        return False

    def _injected_failure(self, method: str) -> tuple[int, dict[str, str]] | None:
        """(status, headers) of an active error or ratelimit fault on this method, else None."""
        error = self.faults.active(method, "error")
        if error is not None:
            self.faults.injected += 1
            return error.status, {}
        limited = self.faults.active(method, "ratelimit")
        if limited is not None:
            self.faults.injected += 1
            self.limiter.limited_count += 1
            return 429, {"Retry-After": str(limited.retry_after)}
        return None

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        """The Socket Mode WebSocket, unless a fault on apps.connections.open drops the handshake."""
        await self.faults.delay(SOCKET_MODE_METHOD)
        if self._resets(SOCKET_MODE_METHOD):
            reset_transport(request.transport)
            return web.Response(status=500)
        return await self.hub.handle(request)

    def _connections_open(self, request: web.Request) -> dict[str, Any]:
        ticket = self.hub.issue_ticket()
        return {"ok": True, "url": f"ws://{request.host}/link/?ticket={ticket}&app_id={self.ws.app_id}"}

    async def handle_response_url(self, request: web.Request) -> web.Response:
        """A POST to a response_url (JSON body, or a form field `payload` holding JSON)."""
        try:
            if request.content_type in FORM_TYPES:
                body: Any = json.loads(str((await request.post()).get("payload", "")))
            else:
                body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        status, answer = self.responses.post(request.match_info["token"], body)
        self.ws.notify()
        return web.json_response(answer, status=status)
