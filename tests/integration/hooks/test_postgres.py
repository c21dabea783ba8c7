"""database_query and kill_idle_connections against the running PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.engine.diagnose import run_diagnostics
from bot.engine.types import DiagnosticPlan, Verdict
from bot.errors import HookError, HookTimeout, UpstreamError
from hooks.postgres import DatabaseQuery, DatabaseQueryConfig, KillIdleConnections, KillIdleConnectionsConfig
from tests.integration.hooks.conftest import make_ctx


def _query(sql: str, **fields: object) -> DatabaseQueryConfig:
    return DatabaseQueryConfig(database="main", query=sql, **fields)  # type: ignore[arg-type]


async def test_pg_stat_activity(pg_dsn: str) -> None:
    out = await DatabaseQuery().run(
        _query("SELECT count(*) AS sessions, max(backend_start) AS oldest FROM pg_stat_activity"),
        make_ctx(database_dsns={"main": pg_dsn}),
    )
    assert isinstance(out.value, int) and out.value >= 1
    assert out.data["columns"] == ["sessions", "oldest"]
    assert isinstance(out.data["rows"][0]["oldest"], str)  # timestamps come back JSON-friendly


async def test_rows_are_capped(pg_dsn: str) -> None:
    config = _query("SELECT g, g * 1.5 AS half FROM generate_series(1, 5000) AS g", max_rows=10)
    out = await DatabaseQuery().run(config, make_ctx(database_dsns={"main": pg_dsn}))
    assert out.value == 1
    assert len(out.data["rows"]) == 10 and out.data["truncated"]
    assert out.data["rows"][9] == {"g": 10, "half": 15.0}


async def test_statement_timeout_is_a_timeout(pg_dsn: str) -> None:
    started = time.perf_counter()
    with pytest.raises(HookTimeout, match="statement_timeout \\(100 ms\\)"):
        await DatabaseQuery().run(
            _query("SELECT pg_sleep(60)", statement_timeout_ms=100), make_ctx(database_dsns={"main": pg_dsn})
        )
    assert time.perf_counter() - started < 15  # the server cancelled it, not the 60 s sleep


async def test_runner_marks_statement_timeout(pg_dsn: str) -> None:
    plan = DiagnosticPlan(
        id="slow",
        name="slow",
        hook="database_query",
        config=_query("SELECT pg_sleep(3)", statement_timeout_ms=50).model_dump(),
    )
    [result] = await run_diagnostics([plan], make_ctx(database_dsns={"main": pg_dsn}), deadline_s=5)
    assert result.status is Verdict.TIMEOUT and "statement_timeout" in (result.error or "")


async def test_writes_are_refused(pg_dsn: str) -> None:
    table = f"rb_hooks_{uuid.uuid4().hex[:8]}"
    with pytest.raises(HookError, match="read-only"):
        await DatabaseQuery().run(_query(f"CREATE TABLE {table} (id int)"), make_ctx(database_dsns={"main": pg_dsn}))


async def test_unknown_database_and_unreachable_server_redacts_password() -> None:
    with pytest.raises(HookError, match="DATABASE_DSNS has: main"):
        await DatabaseQuery().run(
            _query("SELECT 1").model_copy(update={"database": "x"}),
            make_ctx(database_dsns={"main": "postgresql://a@b/c"}),
        )
    dsn = "postgresql://postgres:hunter2-secret@127.0.0.1:9/postgres"
    with pytest.raises(UpstreamError) as caught:
        await DatabaseQuery().run(_query("SELECT 1"), make_ctx(database_dsns={"main": dsn}))
    assert "hunter2-secret" not in str(caught.value) and "postgres:***@127.0.0.1:9" in str(caught.value)


@pytest.fixture
async def scratch_db(pg_dsn: str) -> AsyncIterator[str]:
    """A database of its own, so terminating its idle sessions touches nobody else's."""
    name = f"rb_hooks_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_kill_idle_connections_ends_only_idle_sessions(pg_dsn: str, scratch_db: str) -> None:
    dsn = pg_dsn.rsplit("/", 1)[0] + "/" + scratch_db
    idle = [await asyncpg.connect(dsn) for _ in range(2)]
    busy = await asyncpg.connect(dsn)
    sleeping = asyncio.ensure_future(busy.fetchval("SELECT pg_sleep(30)"))
    await asyncio.sleep(0.2)
    ctx = make_ctx(database_dsns={"admin": pg_dsn})
    hook = KillIdleConnections()
    none = await hook.execute(KillIdleConnectionsConfig(database="admin", idle_minutes=60, datname=scratch_db), ctx)
    assert none.data["terminated"] == 0
    out = await hook.execute(KillIdleConnectionsConfig(database="admin", idle_minutes=0, datname=scratch_db), ctx)
    assert out.ok and out.data["terminated"] == 2
    assert {s["pid"] for s in out.data["sessions"]} == {c.get_server_pid() for c in idle}
    for conn in idle:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)):
            await conn.fetchval("SELECT 1")
        conn.terminate()
    assert busy.get_server_pid() not in {s["pid"] for s in out.data["sessions"]}
    assert not sleeping.done()  # the active session is still running its query
    busy.terminate()
    with contextlib.suppress(Exception):
        await sleeping
    assert hook.rollback(KillIdleConnectionsConfig(database="admin", idle_minutes=0), ctx) is None
