"""http_request: one real call to a loopback admin endpoint; describe, expect_status, errors and rollback."""

from __future__ import annotations

from collections import Counter

import pytest
from aiohttp import web

from bot.errors import UpstreamError
from bot.settings import load_settings
from hooks.base import HookContext
from hooks.http_action import HttpRequest, HttpRequestConfig
from tests.conftest import Serve


@pytest.fixture
async def admin(serve: Serve) -> tuple[str, Counter[str]]:
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        hits[f"{request.method} {request.path}"] += 1
        if request.path == "/broken":
            return web.json_response({"error": "pool locked"}, status=409)
        return web.json_response({"ok": True, "body": await request.json() if request.can_read_body else None})

    app = web.Application()
    app.router.add_route("*", "/{name}", handle)
    return await serve(app), hits


def ctx() -> HookContext:
    return HookContext(settings=load_settings())


async def test_posts_once_and_reports_the_answer(admin: tuple[str, Counter[str]]) -> None:
    base, hits = admin
    config = HttpRequestConfig(url=f"{base}/recycle", json_body={"why": "drill"})
    output = await HttpRequest().execute(config, ctx())
    assert output.ok and output.data == {"status": 200} and '"why": "drill"' in output.output
    assert hits == Counter({"POST /recycle": 1})


async def test_a_dry_run_calls_nothing(admin: tuple[str, Counter[str]]) -> None:
    base, hits = admin
    context = ctx()
    context.dry_run = True
    output = await HttpRequest().execute(HttpRequestConfig(url=f"{base}/recycle"), context)
    assert output.ok and output.output.startswith("dry run: POST ") and not hits


async def test_an_unexpected_status_fails_with_the_answer(admin: tuple[str, Counter[str]]) -> None:
    base, _ = admin
    with pytest.raises(UpstreamError, match=r"HTTP 409.*pool locked"):
        await HttpRequest().execute(HttpRequestConfig(url=f"{base}/broken"), ctx())
    accepted = await HttpRequest().execute(HttpRequestConfig(url=f"{base}/broken", expect_status=[409]), ctx())
    assert accepted.ok


def test_describe_and_rollback_name_the_undo_call() -> None:
    hook = HttpRequest()
    plain = HttpRequestConfig(url="http://127.0.0.1:9/admin/restart")
    assert hook.describe(plain, ctx()) == "POST http://127.0.0.1:9/admin/restart. Not undoable."
    assert hook.rollback(plain, ctx()) is None
    undoable = HttpRequestConfig(url="http://127.0.0.1:9/flag/off", rollback_url="http://127.0.0.1:9/flag/on")
    assert "Undo: POST http://127.0.0.1:9/flag/on." in hook.describe(undoable, ctx())
    spec = hook.rollback(undoable, ctx())
    assert spec is not None and spec.action == "http_request" and spec.config["url"] == "http://127.0.0.1:9/flag/on"
