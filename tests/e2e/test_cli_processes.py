"""`runbookctl serve` and `runbookctl sandbox` as real processes."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from bot.connections import delete_matching, make_client
from bot.incidents.models import Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]
HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None
pytestmark = pytest.mark.slow


def runbookctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


async def wait_http(url: str, within: float = 20.0) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                return await client.get(url)
            except httpx.TransportError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_serve_is_ready_then_stops_on_sigterm(redis_url: str, keys: Keys, tmp_path: Path) -> None:
    async with SlackEmulator() as emulator:
        port = 18000 + os.getpid() % 1000
        env = {
            **os.environ,
            "SLACK_API_URL": emulator.api_url,
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_APP_TOKEN": emulator.app_token,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": keys.prefix,
            "RUNBOOKS_PATH": str(ROOT / "runbooks"),
            "HTTP_PORT": str(port),
            "WEBHOOK_TOKEN": "t",
        }
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                *runbookctl("serve"), env={**env, "LOG_FORMAT": "json"}, cwd=tmp_path, stderr=log_file
            )
        try:
            await emulator.wait_for_connections(1, timeout=20)
            ready = await wait_http(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"redis": True, "slack_socket": True}
            metrics = await wait_http(f"http://127.0.0.1:{port}/metrics")
            assert "runbook_slack_outbox_depth" in metrics.text
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 20)
        assert code == 0
    # `serve` runs on uvloop whenever it is installed (the `fast` extra, which `make install` adds): the
    # process tests then cover that loop while the in-process tests run on asyncio's own.
    started = [json.loads(line) for line in log_path.read_text().splitlines() if "runbook-bot started" in line]
    assert [entry["loop"] for entry in started] == ["uvloop" if HAVE_UVLOOP else "asyncio"]


async def test_serve_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *runbookctl("serve"), cwd=tmp_path, stderr=asyncio.subprocess.PIPE, env={"PATH": os.environ["PATH"]}
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"SLACK_BOT_TOKEN, SLACK_APP_TOKEN" in err


async def test_sandbox_once_shows_the_demo_incident(tmp_path: Path) -> None:
    env = {**os.environ, "RUNBOOKS_PATH": str(ROOT / "runbooks"), "RUNBOOK_BOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    proc = await asyncio.create_subprocess_exec(
        *runbookctl("sandbox", "--once", "--port", "0"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "#inc-1-checkout-" in text
    assert "Diagnostics: warning" in text and "Storefront answers" in text
    assert "Next safe step" in text and "Tell the checkout team" in text
    # The embedded store kept an append-only file in the data folder.
    assert any((tmp_path / "data" / "valkey" / "appendonlydir").glob("*.aof"))


async def test_postmortem_cli_reads_the_store(redis_url: str, keys: Keys, tmp_path: Path) -> None:
    client = make_client(redis_url)
    try:
        store = IncidentStore(client, keys)
        incident = await store.create_incident("cache stampede", service="api")
        await store.transition(incident.id, Status.RESOLVED, actor="U0ALICE001")
        env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix}
        proc = await asyncio.create_subprocess_exec(
            *runbookctl("postmortem", "inc-1", "--output", str(tmp_path / "pm.md")), env=env, cwd=tmp_path
        )
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        draft = (tmp_path / "pm.md").read_text()
        assert draft.startswith("# Post-mortem draft: INC-1 cache stampede")
        assert "| Status | resolved |" in draft and "| status | triggered → resolved | U0ALICE001 | T-" in draft

        missing = await asyncio.create_subprocess_exec(
            *runbookctl("postmortem", "INC-99"), env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(missing.communicate(), 30)
        assert missing.returncode == 2 and b"no incident INC-99" in err
    finally:
        await delete_matching(client, keys.pattern())
        await client.aclose()
