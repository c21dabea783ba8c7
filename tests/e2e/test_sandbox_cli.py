"""`runbookctl sandbox` and `runbookctl drill` as real processes: ports, signals, kept data, the drill report."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def runbookctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def sandbox_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "RUNBOOKS_PATH": str(ROOT / "runbooks"), "RUNBOOK_BOT_DATA_DIR": str(tmp_path / "data")}
    for name in ("REDIS_URL", "REDIS_PREFIX"):
        env.pop(name, None)
    return env


def servers_in(folder: Path) -> list[int]:
    """Pids of processes working in `folder` (the embedded Valkey runs in its data folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cwd").resolve() == folder.resolve():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def run(tmp_path: Path, *args: str, within: float = 120) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *runbookctl(*args),
        cwd=tmp_path,
        env=sandbox_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), within)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_drill_db_pool_exhausted_reports_the_runbooks_plan_as_json(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "drill", "--scenario", "db-pool-exhausted", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    runbook = yaml.safe_load((ROOT / "runbooks" / "demo-db-pool-exhausted.yaml").read_text())
    plan = [step for decision in runbook["decisions"] for step in decision["offer"]]
    assert report["runbook"] == "demo-db-pool-exhausted"
    assert report["steps_offered"] == plan == report["steps_approved"]
    assert report["steps_run"] == {step: "succeeded" for step in plan}
    assert report["resolved"] is True and report["time_to_evidence_s"] > 0
    assert report["pages"] >= 1 and report["acks"] == 1


async def test_a_second_sandbox_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = await run(tmp_path, "sandbox", "--port", str(port), "--no-demo", within=60)
    assert code == 1
    assert err.strip() == f"runbookctl sandbox: port {port} is in use (is a sandbox already running?)"
    assert "Traceback" not in out + err
    # The port was checked before any store started on the data folder.
    assert not (tmp_path / "data" / "valkey").exists()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT])
async def test_a_terminal_signal_stops_the_sandbox_and_its_embedded_valkey_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # Its own session, so the signal goes to the whole process group as a closing terminal or Ctrl-C sends it.
    proc = await asyncio.create_subprocess_exec(
        *runbookctl("sandbox", "--port", "0"),
        cwd=tmp_path,
        env=sandbox_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    seen = b""
    try:
        while b"Ctrl-C stops the sandbox" not in seen:
            seen += await asyncio.wait_for(proc.stdout.readline(), 60)
        state = json.loads((tmp_path / "data" / "sandbox.json").read_text())
        assert state["prefix"] == "sandbox" and state["pid"] == proc.pid
        host, port = state["redis_url"].removeprefix("redis://").split("/")[0].split(":")
        socket.create_connection((host, int(port)), timeout=2).close()  # valkey answers while the sandbox runs
        assert len(servers_in(tmp_path / "data" / "valkey")) == 1
        os.killpg(proc.pid, sig)
        rest, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    assert proc.returncode == 0
    output = (seen + rest + err).decode()
    assert "Traceback" not in output and "ERROR" not in output
    assert servers_in(tmp_path / "data" / "valkey") == []


async def test_restarts_keep_the_incidents_and_runbookctl_finds_them(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "sandbox", "--once", "--port", "0")
    assert code == 0 and "#inc-1-" in out, err
    code, out, err = await run(tmp_path, "sandbox", "--once", "--port", "0")
    assert code == 0 and "#inc-2-" in out, err  # INC-1 was kept, so the next one is INC-2

    code, out, err = await run(tmp_path, "postmortem", "INC-1")
    assert code == 0 and "# Post-mortem draft: INC-1" in out, err
    assert "key prefix 'sandbox'" in err
    code, out, err = await run(tmp_path, "audit", "--incident", "INC-1")
    assert code == 0 and out.strip() and all("INC-1" in line for line in out.splitlines())
    code, out, err = await run(tmp_path, "audit", "--incident", "INC-99")
    assert code != 0 and out == "" and "no incident INC-99 under the key prefix 'sandbox'" in err

    code, out, err = await run(tmp_path, "sandbox", "--once", "--port", "0", "--fresh")
    assert code == 0 and "#inc-1-" in out, err


async def test_an_interactive_drill_that_declines_runs_nothing_and_fails(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *runbookctl("drill", "--scenario", "bad-deploy", "--interactive", "--format", "json", "--timeout", "6"),
        cwd=tmp_path,
        env=sandbox_env(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(b"n\n"), 90)
    assert proc.returncode == 1
    assert "Approve step rollback_deploy" in err.decode()
    report = json.loads(out)  # the question went to stderr; stdout is only the report
    assert report["steps_offered"] == ["rollback_deploy"] and report["steps_approved"] == []
    assert report["steps_run"] == {} and report["resolved"] is False
    assert report["problems"] == ["the incident did not resolve within 6 s"]


async def test_a_second_sandbox_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    first = await asyncio.create_subprocess_exec(
        *runbookctl("sandbox", "--port", "0", "--no-demo"),
        cwd=tmp_path,
        env=sandbox_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert first.stdout is not None
    try:
        while b"Ctrl-C stops the sandbox" not in await asyncio.wait_for(first.stdout.readline(), 60):
            pass
        code, _, err = await run(tmp_path, "sandbox", "--port", "0", "--no-demo", within=60)
        assert code == 1 and "Traceback" not in err
        assert err.strip().startswith(
            f"runbookctl sandbox: a sandbox is already running on this data folder (pid {first.pid}"
        )
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.wait(), 30)
