"""shell_command and run_script with real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from bot.engine.diagnose import run_diagnostics
from bot.engine.types import DiagnosticPlan, Verdict
from bot.errors import HookError, HookTimeout
from hooks.base import HookContext
from hooks.shell import RunScript, RunScriptConfig, ShellCommand, ShellCommandConfig, run_allowed
from tests.integration.hooks.conftest import make_ctx

PY = sys.executable

# Starts a grandchild, records both pids, then sleeps; ignores nothing, so SIGTERM ends it.
SPAWNER = """
import subprocess, sys, time, pathlib
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pathlib.Path(sys.argv[1]).write_text(f"{child.pid}")
print("started", flush=True)
time.sleep(60)
"""


def _ctx() -> HookContext:
    return make_ctx(shell_allowlist=[PY])


def _gone(pid: int) -> bool:
    """True when the process no longer exists or is a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


async def _wait_gone(pid: int, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_argv_is_never_parsed_by_a_shell() -> None:
    hostile = "; rm -rf / $(id)"
    argv = [PY, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", hostile, "`uname`"]
    out = await ShellCommand().run(ShellCommandConfig(argv=argv), _ctx())
    assert out.value == 0
    assert json.loads(out.data["stdout"]) == [hostile, "`uname`"]


async def test_exit_code_is_the_value_and_stderr_is_kept() -> None:
    argv = [PY, "-c", "import sys; print('bad', file=sys.stderr); sys.exit(3)"]
    out = await ShellCommand().run(ShellCommandConfig(argv=argv), _ctx())
    assert out.value == 3 and out.data["stderr"] == "bad\n"
    assert "exit 3" in out.evidence


async def test_not_on_allowlist_is_refused() -> None:
    with pytest.raises(HookError, match="not on SHELL_ALLOWLIST"):
        await ShellCommand().run(ShellCommandConfig(argv=["/bin/sh", "-c", "id"]), _ctx())


async def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "s3cret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    argv = [PY, "-c", "import json, os; print(json.dumps(sorted(os.environ)))"]
    out = await ShellCommand().run(ShellCommandConfig(argv=argv), _ctx())
    names = set(json.loads(out.data["stdout"]))
    assert "DATABASE_PASSWORD" not in names
    assert {"PATH", "LANG"} <= names <= {"PATH", "LANG", "LC_ALL", "HOME", "TZ", "TMPDIR", "LC_CTYPE"}


async def test_output_is_capped_and_the_rest_drained() -> None:
    argv = [PY, "-c", "import sys; sys.stdout.write('x' * 1_000_000); print('done', file=sys.stderr)"]
    out = await ShellCommand().run(ShellCommandConfig(argv=argv, max_output_bytes=1000), _ctx())
    assert out.value == 0
    assert out.data["stdout"] == "x" * 1000 and out.data["truncated"]
    assert out.data["stderr"] == "done\n"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.perf_counter()
    with pytest.raises(HookTimeout, match="process group was killed") as caught:
        await ShellCommand().run(ShellCommandConfig(argv=[PY, "-c", SPAWNER, str(pid_file)], timeout_s=0.7), _ctx())
    # Not the 60 s the spawner would sleep: the bound leaves room for a loaded machine.
    assert time.perf_counter() - started < 15
    assert caught.value.details["stdout"] == "started\n"
    assert await _wait_gone(int(pid_file.read_text()))


async def test_sigterm_ignored_then_sigkill(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    started = time.perf_counter()
    result = await run_allowed([PY, "-c", code], _ctx(), timeout_s=0.5, max_output_bytes=100, kill_grace_s=0.2)
    assert result.timed_out and result.exit_code == -9
    assert time.perf_counter() - started < 15  # killed, not the 60 s it would sleep


async def test_runner_cancellation_kills_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    config = ShellCommandConfig(argv=[PY, "-c", SPAWNER, str(pid_file)], timeout_s=30)
    plan = DiagnosticPlan(id="hang", name="hang", hook="shell_command", config=config, timeout_s=0.6)
    [result] = await run_diagnostics([plan], _ctx(), deadline_s=5)
    assert result.status is Verdict.TIMEOUT
    assert await _wait_gone(int(pid_file.read_text()))


async def test_run_script_action(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = RunScriptConfig(argv=[PY, "-c", f"open({str(marker)!r}, 'w').write('x'); print('rotated 3 files')"])
    ctx = _ctx()
    assert "allow-listed" in RunScript().describe(config, ctx)
    ctx.dry_run = True
    dry = await RunScript().execute(config, ctx)
    assert dry.data == {"dry_run": True} and not marker.exists()
    ctx.dry_run = False
    out = await RunScript().execute(config, ctx)
    assert out.ok and out.output.strip() == "rotated 3 files" and marker.exists()
    failing = await RunScript().execute(RunScriptConfig(argv=[PY, "-c", "raise SystemExit(2)"]), ctx)
    assert not failing.ok and failing.data["exit_code"] == 2
    refused = RunScriptConfig(argv=["rm", "-rf", "/"])
    assert "REFUSED" in RunScript().describe(refused, ctx)


async def test_allowlist_entry_with_fixed_arguments() -> None:
    ctx = make_ctx(shell_allowlist=[f"{PY} -c"])
    out = await ShellCommand().run(ShellCommandConfig(argv=[PY, "-c", "print(1)"]), ctx)
    assert out.value == 0
    with pytest.raises(HookError):
        await ShellCommand().run(ShellCommandConfig(argv=[PY, "-m", "http.server"]), ctx)
    assert os.path.isabs(PY)
