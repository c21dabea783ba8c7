"""Fake API servers on 127.0.0.1 (port 0) and the running PostgreSQL, for the hook integration tests."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from bot.settings import Settings
from hooks.base import HookContext

PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_ctx(**settings: Any) -> HookContext:
    """A HookContext over settings built only from the given values."""
    return HookContext(settings=Settings(_env_file=None, **settings), environment="prod", incident_id="INC-7")


@pytest.fixture
async def pg_dsn() -> str:
    """The local PostgreSQL DSN, or a skip naming why it is unusable."""
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {PG_DSN} unreachable ({exc}); start it to run the database hook tests")
    await conn.close()
    return PG_DSN
