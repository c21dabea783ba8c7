"""End to end: a real Prometheus scrapes a tiny exporter of ours, and prometheus_query reads the value back."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.engine.diagnose import run_diagnostics
from bot.engine.types import DiagnosticPlan, Verdict
from bot.errors import UpstreamError
from bot.settings import Settings
from hooks.base import HookContext
from hooks.prometheus import PrometheusQuery, PrometheusQueryConfig

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

PROMETHEUS = shutil.which("prometheus")
EXPORTED = 42.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def exporter() -> AsyncIterator[str]:
    """host:port of a /metrics endpoint exporting rb_e2e_queue_depth."""

    async def metrics(request: web.Request) -> web.Response:
        body = f'# TYPE rb_e2e_queue_depth gauge\nrb_e2e_queue_depth{{queue="orders"}} {EXPORTED}\n'
        return web.Response(text=body, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def prometheus(exporter: str, tmp_path: Path) -> Iterator[str]:
    """A Prometheus server scraping the exporter every second; yields its base URL."""
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not on PATH (apt-get install prometheus, as .ci/run does)")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: e2e\n    static_configs:\n      - targets: ['{exporter}']\n"
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def test_prometheus_query_reads_the_exporters_value(prometheus: str) -> None:
    ctx = HookContext(settings=Settings(_env_file=None, prometheus_urls={"prod": prometheus}), environment="prod")
    config = PrometheusQueryConfig(query='rb_e2e_queue_depth{queue="orders"}')
    deadline = time.monotonic() + 45
    output = None
    while time.monotonic() < deadline:
        try:
            output = await PrometheusQuery().run(config, ctx)
        except UpstreamError:
            output = None  # still starting
        if output is not None and not output.no_data:
            break
        await asyncio.sleep(0.5)
    assert output is not None and not output.no_data, "Prometheus never returned the exported sample"
    assert output.value == EXPORTED
    assert output.data["series"][0]["metric"]["job"] == "e2e"

    plan = DiagnosticPlan(id="q", name="queue depth", hook="prometheus_query", config={"query": "rb_e2e_queue_depth"})
    [result] = await run_diagnostics([plan], ctx, deadline_s=5)
    assert result.status is Verdict.HEALTHY and result.value == EXPORTED
    empty = await PrometheusQuery().run(PrometheusQueryConfig(query="rb_e2e_no_such_metric"), ctx)
    assert empty.no_data
