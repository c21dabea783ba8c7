"""http_check against a local aiohttp server."""

from __future__ import annotations

from hooks.http import HttpCheck, HttpCheckConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fakes import Behaviour, http_targets_app


async def test_statuses_latency_and_failures(serve: Serve) -> None:
    base = await serve(http_targets_app(Behaviour()))
    urls = [f"{base}/ok", f"{base}/status/503", f"{base}/status/302", "http://127.0.0.1:9/down"]
    out = await HttpCheck().run(HttpCheckConfig(urls=urls), make_ctx())
    checks = {c["url"]: c for c in out.data["checks"]}
    assert out.value == 2
    assert checks[f"{base}/ok"]["ok"] and checks[f"{base}/ok"]["status"] == 200
    assert checks[f"{base}/status/302"]["ok"]
    assert checks[f"{base}/status/503"] == {**checks[f"{base}/status/503"], "ok": False, "status": 503}
    assert checks["http://127.0.0.1:9/down"]["status"] is None
    assert "ConnectError" in checks["http://127.0.0.1:9/down"]["error"]
    assert all(c["latency_ms"] >= 0 for c in out.data["checks"])
    assert out.evidence.startswith("2/4 URLs ok")


async def test_urls_run_in_parallel(serve: Serve) -> None:
    base = await serve(http_targets_app(Behaviour()))
    # Each of the five answers only once all five are waiting at the server together.
    out = await HttpCheck().run(HttpCheckConfig(urls=[f"{base}/together/5"] * 5, timeout_s=30), make_ctx())
    assert out.value == 0, out.evidence
    assert [c["status"] for c in out.data["checks"]] == [200] * 5


async def test_expect_status_timeout_and_latency_warning(serve: Serve) -> None:
    base = await serve(http_targets_app(Behaviour()))
    config = HttpCheckConfig(
        # The timeout is generous for the quick URLs (a loaded machine answers late) and far below the slow one.
        urls=[f"{base}/status/404", f"{base}/slow/100", f"{base}/slow/20000"],
        expect_status=[404, 200],
        timeout_s=3,
        latency_warning_ms=50,
    )
    out = await HttpCheck().run(config, make_ctx())
    by_url = {c["url"].rsplit("/", 2)[-2] + "/" + c["url"].rsplit("/", 1)[-1]: c for c in out.data["checks"]}
    assert by_url["status/404"]["ok"]
    assert by_url["slow/100"]["ok"] and by_url["slow/100"]["slow"]
    assert not by_url["slow/20000"]["ok"] and by_url["slow/20000"]["error"] == "no answer within 3s"
    assert out.value == 1
    assert out.data["slow"] >= 1
