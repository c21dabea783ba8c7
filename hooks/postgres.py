"""PostgreSQL hooks: database_query (read-only, time-boxed) and kill_idle_connections."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import asyncpg
from pydantic import Field

from bot.connections import redact_url
from bot.engine.types import HookOutput
from bot.errors import HookError, HookTimeout, UpstreamError
from hooks.base import ActionOutput, BaseAction, BaseDiagnostic, HookConfig, HookContext
from hooks.guards import SqlText
from hooks.registry import register

CONNECT_TIMEOUT_S = 10.0

KILL_IDLE_SQL = """
SELECT pid, usename, application_name, client_addr::text AS client_addr,
       round(extract(epoch FROM now() - state_change) / 60)::int AS idle_minutes,
       pg_terminate_backend(pid) AS terminated
FROM pg_stat_activity
WHERE state = 'idle'
  AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
  AND datname = coalesce($1, current_database())
  AND state_change < now() - make_interval(mins => $2)
ORDER BY state_change
"""


class DatabaseQueryConfig(HookConfig):
    """Config of database_query."""

    database: str = Field(min_length=1, description="key in DATABASE_DSNS")
    query: SqlText = Field(min_length=1, description="SQL, run in a read-only transaction")
    max_rows: int = Field(default=100, ge=1, le=10_000, description="rows kept; more set data.truncated")
    statement_timeout_ms: int = Field(default=5000, ge=1, description="PostgreSQL statement_timeout")


class KillIdleConnectionsConfig(HookConfig):
    """Config of kill_idle_connections."""

    database: str = Field(min_length=1, description="key in DATABASE_DSNS (the connection used)")
    idle_minutes: int = Field(ge=0, description="terminate sessions idle for longer than this")
    datname: str | None = Field(default=None, description="database whose sessions to end; default: the DSN's")


def database_dsn(ctx: HookContext, name: str) -> str:
    """The DSN configured under `name`, or HookError naming the configured ones."""
    dsn = ctx.settings.database_dsns.get(name)
    if dsn is None:
        known = ", ".join(sorted(ctx.settings.database_dsns)) or "none"
        raise HookError(f"unknown database {name!r}; DATABASE_DSNS has: {known}")
    return dsn.get_secret_value()


@asynccontextmanager
async def connect(ctx: HookContext, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the named database; connection failures become UpstreamError."""
    dsn = database_dsn(ctx, name)
    try:
        conn = await asyncpg.connect(
            dsn, timeout=CONNECT_TIMEOUT_S, server_settings={"application_name": "runbook-bot"}
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise UpstreamError(f"cannot connect to database {name!r} at {redact_url(dsn)}: {exc}") from exc
    try:
        yield conn
    except BaseException:
        # Mid-query (a failure or a cancellation) the session may be busy: drop the socket, never wait on it.
        conn.terminate()
        raise
    await conn.close(timeout=2)


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a column value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def _translate_query_error(exc: asyncpg.PostgresError, config: DatabaseQueryConfig) -> HookError:
    if isinstance(exc, asyncpg.QueryCanceledError):
        return HookTimeout(f"query on {config.database!r} hit statement_timeout ({config.statement_timeout_ms} ms)")
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return HookError(f"query on {config.database!r} tried to write; database_query runs read-only")
    return HookError(f"query on {config.database!r} failed ({exc.sqlstate}): {exc}")


def _table(columns: list[str], rows: list[dict[str, Any]], truncated: bool) -> str:
    lines = [" | ".join(columns)] + [" | ".join(str(r[c]) for c in columns) for r in rows[:10]]
    if len(rows) > 10:
        lines.append(f"... {len(rows) - 10} more rows in the result")
    if truncated:
        lines.append(f"(capped at {len(rows)} rows)")
    return "\n".join(lines)


@register
class DatabaseQuery(BaseDiagnostic):
    """Run one SQL query in a read-only transaction with a statement_timeout; rows are capped."""

    name: ClassVar[str] = "database_query"
    help: ClassVar[str] = "PostgreSQL read-only query: value is the first column of the first row"
    config_model: ClassVar[type[DatabaseQueryConfig]] = DatabaseQueryConfig

    async def run(self, config: DatabaseQueryConfig, ctx: HookContext) -> HookOutput:
        """Fetch at most max_rows rows through a cursor, so a huge result never lands in memory."""
        async with connect(ctx, config.database) as conn:
            try:
                async with conn.transaction(readonly=True):
                    await conn.execute(
                        "SELECT set_config('statement_timeout', $1, true)", str(config.statement_timeout_ms)
                    )
                    cursor = await conn.cursor(config.query)
                    records = await cursor.fetch(config.max_rows + 1)
            except asyncpg.PostgresError as exc:
                raise _translate_query_error(exc, config) from exc
            except asyncpg.InterfaceError as exc:
                raise HookError(f"query on {config.database!r} failed: {exc}") from exc
        truncated = len(records) > config.max_rows
        rows = [{k: plain(v) for k, v in r.items()} for r in records[: config.max_rows]]
        columns = list(records[0].keys()) if records else []
        value = rows[0][columns[0]] if rows and columns else None
        evidence = _table(columns, rows, truncated) if rows else "query returned no rows"
        data = {"rows": rows, "columns": columns, "truncated": truncated, "row_count": len(rows)}
        return HookOutput(value=value, evidence=evidence, data=data, no_data=not rows)


@register
class KillIdleConnections(BaseAction):
    """End idle PostgreSQL sessions older than N minutes with pg_terminate_backend."""

    name: ClassVar[str] = "kill_idle_connections"
    help: ClassVar[str] = "PostgreSQL pg_terminate_backend on sessions idle longer than N minutes in one database"
    config_model: ClassVar[type[KillIdleConnectionsConfig]] = KillIdleConnectionsConfig

    def describe(self, config: KillIdleConnectionsConfig, ctx: HookContext) -> str:
        """Which sessions would be terminated, through which connection."""
        which = f"database {config.datname!r}" if config.datname else "its own database"
        age = f"idle for more than {config.idle_minutes} minutes" if config.idle_minutes else "idle (any duration)"
        return (
            f"Terminate (pg_terminate_backend) every client session in {which} that is {age}, "
            f"connecting through {config.database!r}. Active sessions are left alone."
        )

    async def perform(self, config: KillIdleConnectionsConfig, ctx: HookContext) -> ActionOutput:
        """Terminate the matching sessions and list them."""
        async with connect(ctx, config.database) as conn:
            try:
                records = await conn.fetch(KILL_IDLE_SQL, config.datname, config.idle_minutes)
            except asyncpg.PostgresError as exc:
                raise HookError(f"terminating idle sessions via {config.database!r} failed: {exc}") from exc
        sessions = [{k: plain(v) for k, v in r.items()} for r in records]
        ended = [s for s in sessions if s["terminated"]]
        lines = [f"terminated {len(ended)} idle session(s)"] + [
            f"pid {s['pid']} user {s['usename']} app {s['application_name'] or '-'} idle {s['idle_minutes']} min"
            for s in ended
        ]
        ok = len(ended) == len(sessions)
        if not ok:
            lines.append(f"{len(sessions) - len(ended)} session(s) could not be terminated (permission?)")
        return ActionOutput(ok=ok, output="\n".join(lines), data={"terminated": len(ended), "sessions": sessions})
