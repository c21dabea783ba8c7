"""The built-in status page's HTTP routes: /status (HTML, or JSON when asked), /status.json, /status/feed.atom."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from bot.alerts import utcnow
from bot.statuspage.builtin import BuiltinStatusPage
from bot.statuspage.render import page_atom, page_html, page_json

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "max-age=15",
}


def add_status_routes(app: web.Application, page: BuiltinStatusPage, clock: Callable[[], datetime] = utcnow) -> None:
    """Serve the built-in page from `page`'s data."""

    async def status(request: web.Request) -> web.Response:
        snap = await page.snapshot(clock())
        if "application/json" in request.headers.get("Accept", "") or request.query.get("format") == "json":
            return web.json_response(page_json(snap), headers=SECURITY_HEADERS)
        return web.Response(text=page_html(snap), content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)

    async def status_json(request: web.Request) -> web.Response:
        return web.json_response(page_json(await page.snapshot(clock())), headers=SECURITY_HEADERS)

    async def feed(request: web.Request) -> web.Response:
        page_url = str(request.url.with_path("/status").with_query(None))
        body = page_atom(await page.snapshot(clock()), page_url)
        return web.Response(text=body, content_type="application/atom+xml", charset="utf-8", headers=SECURITY_HEADERS)

    app.router.add_get("/status", status)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/status/feed.atom", feed)
