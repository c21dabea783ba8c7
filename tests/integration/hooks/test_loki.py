"""log_search against a fake Loki."""

from __future__ import annotations

import time

import pytest

from bot.errors import HookError, UpstreamError
from hooks.loki import LogSearch, LogSearchConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fakes import Behaviour, loki_app

MINUTE_NS = 60 * 10**9


def _lines() -> list[tuple[int, str, dict[str, str]]]:
    now = time.time_ns()
    lines = [(now - i * MINUTE_NS, f"level=error msg=timeout #{i}", {"app": "api"}) for i in range(12)]
    lines.append((now - 40 * MINUTE_NS, "level=error msg=old", {"app": "api"}))
    lines.append((now - 1 * MINUTE_NS, "level=info msg=fine", {"app": "api"}))
    return lines


async def test_count_and_newest_samples(serve: Serve) -> None:
    behaviour = Behaviour()
    url = await serve(loki_app(_lines(), behaviour))
    config = LogSearchConfig(query='{app="api"} |= "error"', since_minutes=15, limit=3)
    out = await LogSearch().run(config, make_ctx(loki_url=url))
    assert out.value == 12  # all matches in the window, beyond the sample limit; the 40-minute-old one is outside
    assert [s["line"] for s in out.data["samples"]] == [f"level=error msg=timeout #{i}" for i in range(3)]
    assert out.data["samples"][0]["labels"] == {"app": "api"}
    count_request = next(r for r in behaviour.requests if r["path"].endswith("/query"))
    assert count_request["query"]["query"] == 'sum(count_over_time({app="api"} |= "error" [15m]))'


async def test_no_match_is_zero(serve: Serve) -> None:
    url = await serve(loki_app(_lines(), Behaviour()))
    out = await LogSearch().run(LogSearchConfig(query='{app="api"} |= "panic"', url=url), make_ctx())
    assert out.value == 0
    assert out.data["samples"] == []


async def test_tenant_header_and_errors(serve: Serve) -> None:
    behaviour = Behaviour(fail_status=500)
    url = await serve(loki_app(_lines(), behaviour))
    with pytest.raises(UpstreamError, match="Loki answered HTTP 500"):
        await LogSearch().run(LogSearchConfig(query='{app="api"}', url=url, tenant="team-a"), make_ctx())
    assert behaviour.requests[0]["headers"]["X-Scope-OrgID"] == "team-a"


async def test_needs_a_url() -> None:
    with pytest.raises(HookError, match="LOKI_URL"):
        await LogSearch().run(LogSearchConfig(query='{app="api"}'), make_ctx())
