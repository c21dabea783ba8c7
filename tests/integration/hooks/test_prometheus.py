"""prometheus_query against a fake Prometheus HTTP API."""

from __future__ import annotations

import pytest

from bot.errors import HookError, UpstreamError
from hooks.prometheus import PrometheusQuery, PrometheusQueryConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fakes import Behaviour, prometheus_app

RESULTS = {
    "up": {
        "resultType": "vector",
        "result": [
            {"metric": {"__name__": "up", "job": "api"}, "value": [1700000000.1, "1"]},
            {"metric": {"__name__": "up", "job": "db"}, "value": [1700000000.1, "0"]},
        ],
    },
    "scalar(42)": {"resultType": "scalar", "result": [1700000000.1, "42.5"]},
    "absent_metric": {"resultType": "vector", "result": []},
}


async def _prom(serve: Serve, behaviour: Behaviour | None = None) -> str:
    return await serve(prometheus_app(RESULTS, behaviour or Behaviour()))


async def test_vector_first_series_value(serve: Serve) -> None:
    url = await _prom(serve)
    out = await PrometheusQuery().run(PrometheusQueryConfig(query="up"), make_ctx(prometheus_urls={"prod": url}))
    assert out.value == 1.0
    assert out.data["result_type"] == "vector"
    assert [s["value"] for s in out.data["series"]] == [1.0, 0.0]
    assert out.data["series"][1]["metric"]["job"] == "db"
    assert not out.no_data
    assert "2 series" in out.evidence


async def test_scalar(serve: Serve) -> None:
    url = await _prom(serve)
    ctx = make_ctx(prometheus_urls={"default": url})
    out = await PrometheusQuery().run(PrometheusQueryConfig(query="scalar(42)"), ctx)
    assert out.value == 42.5
    assert out.data["result_type"] == "scalar"


async def test_empty_result_is_no_data(serve: Serve) -> None:
    url = await _prom(serve)
    out = await PrometheusQuery().run(PrometheusQueryConfig(query="absent_metric", url=url), make_ctx())
    assert out.no_data
    assert out.value is None
    assert "no data" in out.evidence


async def test_server_chosen_by_name_then_environment(serve: Serve) -> None:
    good, bad = Behaviour(), Behaviour(fail_status=503)
    good_url, bad_url = await _prom(serve, good), await _prom(serve, bad)
    ctx = make_ctx(prometheus_urls={"prod": good_url, "staging": bad_url})
    await PrometheusQuery().run(PrometheusQueryConfig(query="up"), ctx)
    assert len(good.requests) == 1
    with pytest.raises(UpstreamError, match="503"):
        await PrometheusQuery().run(PrometheusQueryConfig(query="up", server="staging"), ctx)


async def test_unknown_server_names_the_configured_ones() -> None:
    with pytest.raises(HookError, match="configured: a, b"):
        await PrometheusQuery().run(PrometheusQueryConfig(query="up"), make_ctx(prometheus_urls={"a": "x", "b": "y"}))


async def test_bad_query_reports_prometheus_error(serve: Serve) -> None:
    url = await _prom(serve)
    with pytest.raises(UpstreamError, match="bad_data: 1:1: parse error"):
        await PrometheusQuery().run(PrometheusQueryConfig(query="rate(", url=url), make_ctx())


async def test_slow_server_times_out(serve: Serve) -> None:
    url = await _prom(serve, Behaviour(delay_s=1.0))
    with pytest.raises(UpstreamError, match="did not answer in time"):
        await PrometheusQuery().run(PrometheusQueryConfig(query="up", url=url, timeout_s=0.1), make_ctx())


async def test_unreachable_server() -> None:
    config = PrometheusQueryConfig(query="up", url="http://127.0.0.1:9")
    with pytest.raises(UpstreamError, match="cannot reach Prometheus"):
        await PrometheusQuery().run(config, make_ctx())
