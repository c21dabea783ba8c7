"""The workspace in a browser: the page at `/`, its assets, its JSON view, a live change stream and alerts."""

from __future__ import annotations

import asyncio
import contextlib
from importlib import resources

from aiohttp import web

from bot.sandbox.emulator.alert_panel import AlertPanel
from bot.sandbox.emulator.errors import EmulatorError
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.webview import view

ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
KEEPALIVE_S = 15.0
COALESCE_S = 0.05


def asset(name: str) -> bytes:
    """One of the page's files, shipped as package data next to this module."""
    return (resources.files("bot.sandbox.emulator") / "static" / name).read_bytes()


class WebUi:
    """Serves the page and its live updates; the sandbox stack tells it where the bot's webhook is."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.panel: AlertPanel | None = None
        self._closing = asyncio.Event()

    def add_routes(self, app: web.Application) -> None:
        """Register `/`, `/ui/<asset>` and the `/_emulator/ui/...` endpoints."""
        app.router.add_get("/", self.page)
        app.router.add_get("/ui/{name}", self.static)
        app.router.add_get("/_emulator/ui/view", self.view)
        app.router.add_get("/_emulator/ui/events", self.events)
        app.router.add_get("/_emulator/ui/scenarios", self.scenarios)
        app.router.add_post("/_emulator/ui/scenarios/{name}", self.fire)

    def close(self) -> None:
        """End every live stream, so stopping the emulator does not wait for open pages."""
        self._closing.set()
        self.ws.notify()

    async def page(self, request: web.Request) -> web.Response:
        """The single page."""
        return web.Response(body=asset("index.html"), content_type="text/html", charset="utf-8")

    async def static(self, request: web.Request) -> web.Response:
        """The page's script and stylesheet (no other files are served)."""
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        return web.Response(body=asset(name), content_type=ASSETS[name], charset="utf-8")

    async def view(self, request: web.Request) -> web.Response:
        """What `?as=<person>` sees, with `?channel=<id or name>` open."""
        return web.json_response(view(self.ws, request.query.get("as"), request.query.get("channel")))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one `change` event whenever the workspace changes, a comment to keep alive."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        count = 0
        with contextlib.suppress(ConnectionResetError):  # the page went away
            await response.write(b"retry: 1000\nevent: change\ndata: 0\n\n")
            while not self._closing.is_set():
                changed = await self._changed_within(KEEPALIVE_S)
                if self._closing.is_set():
                    break
                if changed:
                    count += 1
                    await asyncio.sleep(COALESCE_S)  # one event for a burst of changes
                    await response.write(f"event: change\ndata: {count}\n\n".encode())
                else:
                    await response.write(b": keepalive\n\n")
        return response

    async def _changed_within(self, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.ws.wait_changed(seconds)
        return loop.time() - started < seconds

    async def scenarios(self, request: web.Request) -> web.Response:
        """The alert scenarios the panel offers (none until the sandbox names the bot's webhook)."""
        listing = self.panel.listing() if self.panel else []
        return web.json_response({"ok": True, "configured": self.panel is not None, "scenarios": listing})

    async def fire(self, request: web.Request) -> web.Response:
        """Fire one scenario's alert at the bot's real webhook and pass its answer on."""
        if self.panel is None:
            return web.json_response({"ok": False, "error": "no bot webhook configured"}, status=409)
        try:
            status, body = await self.panel.fire(request.match_info["name"])
        except EmulatorError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": 200 <= status < 300, "status": status, "response": body})
