"""shell_command and run_script: allow-listed argv, never a shell, scrubbed environment, group-killing timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import time
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from bot.engine.types import HookOutput
from bot.errors import HookError, HookTimeout
from hooks.base import ActionOutput, BaseAction, BaseDiagnostic, HookConfig, HookContext
from hooks.guards import Argv
from hooks.processes import process_started
from hooks.registry import register

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Only these variables reach a child; tokens and DSNs in the bot's environment never do.
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TZ", "TMPDIR")
KILL_GRACE_S = 2.0
# After the main process exits, how long a backgrounded grandchild may keep the pipes open.
DRAIN_AFTER_EXIT_S = 0.5


class ShellCommandConfig(HookConfig):
    """Config of shell_command."""

    argv: Argv = Field(min_length=1, description="program and arguments; no shell ever parses them")
    timeout_s: float = Field(default=30.0, gt=0, description="the process group is killed after this")
    max_output_bytes: int = Field(default=64 * 1024, ge=1, description="stdout and stderr are each cut here")


class RunScriptConfig(HookConfig):
    """Config of run_script."""

    argv: Argv = Field(min_length=1, description="program and arguments; must be on SHELL_ALLOWLIST")
    timeout_s: float = Field(default=300.0, gt=0, description="the process group is killed after this")
    max_output_bytes: int = Field(default=64 * 1024, ge=1, description="stdout and stderr are each cut here")


@dataclass(frozen=True)
class ProcessResult:
    """What one allow-listed process did."""

    argv: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    duration_ms: float
    timed_out: bool


def scrubbed_env() -> dict[str, str]:
    """PATH, locale, HOME and TZ from our environment; nothing else."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    return env


def resolve_allowed(argv: list[str], allowlist: list[str], path: str) -> str:
    """The executable to run, when argv starts with an allow-list entry; HookError otherwise.

    An entry is a program (a name or an absolute path) optionally followed by fixed leading arguments,
    so `systemctl status` allows `systemctl status nginx` but not `systemctl stop nginx`.
    """
    program = argv[0]
    resolved = program if "/" in program else shutil.which(program, path=path)
    for entry in allowlist:
        tokens = shlex.split(entry)
        if not tokens or argv[1 : len(tokens)] != tokens[1:]:
            continue
        head = tokens[0]
        same = program == head or (
            resolved is not None and "/" in head and os.path.realpath(resolved) == os.path.realpath(head)
        )
        if same:
            if resolved is None or not os.access(resolved, os.X_OK):
                raise HookError(f"{program!r} is allow-listed but not found as an executable on PATH")
            return resolved
    raise HookError(f"{program!r} with these arguments is not on SHELL_ALLOWLIST; ask an operator to allow it")


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


async def _read_capped(stream: asyncio.StreamReader, limit: int, sink: bytearray) -> bool:
    """Read to EOF keeping `limit` bytes; returns whether anything was dropped (the rest is drained)."""
    dropped = False
    while chunk := await stream.read(65536):
        room = limit - len(sink)
        sink += chunk[: max(room, 0)]
        dropped = dropped or len(chunk) > room
    return dropped


async def _terminate(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    _kill_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace_s)
    _kill_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 1.0)


async def run_allowed(
    argv: list[str], ctx: HookContext, timeout_s: float, max_output_bytes: int, kill_grace_s: float = KILL_GRACE_S
) -> ProcessResult:
    """Run argv (allow-listed, own process group, scrubbed env); on timeout SIGTERM then SIGKILL the group."""
    env = scrubbed_env()
    executable = resolve_allowed(argv, ctx.settings.shell_allowlist, env["PATH"])
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            executable, *argv[1:], stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise HookError(f"cannot start {argv[0]!r}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    out, err = bytearray(), bytearray()
    readers = [
        asyncio.ensure_future(_read_capped(proc.stdout, max_output_bytes, out)),
        asyncio.ensure_future(_read_capped(proc.stderr, max_output_bytes, err)),
    ]
    timed_out = False
    try:
        try:
            # start_new_session made the child a group leader: its pid is the group id a restart may have to reap.
            await process_started(proc.pid)
            await asyncio.wait_for(proc.wait(), timeout_s)
            await asyncio.wait(readers, timeout=DRAIN_AFTER_EXIT_S)
        except TimeoutError:
            timed_out = True
            await _terminate(proc, kill_grace_s)
    finally:
        # Whatever happened (exit, timeout, cancellation), nothing the command started outlives it.
        _kill_group(proc.pid, signal.SIGKILL)
        for reader in readers:
            reader.cancel()
    truncated = any(r.result() for r in readers if r.done() and not r.cancelled())
    return ProcessResult(
        argv=list(argv),
        exit_code=proc.returncode,
        stdout=out.decode(errors="replace"),
        stderr=err.decode(errors="replace"),
        truncated=truncated,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        timed_out=timed_out,
    )


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _timeout_error(result: ProcessResult, timeout_s: float) -> HookTimeout:
    return HookTimeout(
        f"`{shlex.join(result.argv)}` ran past {timeout_s:g}s; its process group was killed",
        stdout=result.stdout,
        stderr=result.stderr,
    )


@register
class ShellCommand(BaseDiagnostic):
    """Run an allow-listed program; the value is its exit code."""

    name: ClassVar[str] = "shell_command"
    help: ClassVar[str] = "Allow-listed program (argv, no shell): value is the exit code, with capped output"
    config_model: ClassVar[type[ShellCommandConfig]] = ShellCommandConfig

    async def run(self, config: ShellCommandConfig, ctx: HookContext) -> HookOutput:
        """Run argv and report exit code and output."""
        result = await run_allowed(config.argv, ctx, config.timeout_s, config.max_output_bytes)
        if result.timed_out:
            raise _timeout_error(result, config.timeout_s)
        evidence = f"$ {shlex.join(config.argv)}  (exit {result.exit_code}, {result.duration_ms:g} ms)"
        shown = _tail(result.stdout) or _tail(result.stderr)
        data = {"stdout": result.stdout, "stderr": result.stderr, "truncated": result.truncated}
        return HookOutput(value=result.exit_code, evidence=f"{evidence}\n{shown}".rstrip(), data=data)


@register
class RunScript(BaseAction):
    """Run an allow-listed program as a remediation step; success is exit code 0."""

    name: ClassVar[str] = "run_script"
    help: ClassVar[str] = "Allow-listed script or program (argv, no shell); succeeds on exit code 0"
    config_model: ClassVar[type[RunScriptConfig]] = RunScriptConfig

    def describe(self, config: RunScriptConfig, ctx: HookContext) -> str:
        """The exact command line and its limits."""
        try:
            resolve_allowed(config.argv, ctx.settings.shell_allowlist, scrubbed_env()["PATH"])
            allowed = "allow-listed"
        except HookError as exc:
            allowed = f"REFUSED: {exc}"
        return f"Run `{shlex.join(config.argv)}` ({allowed}) without a shell, killed after {config.timeout_s:g}s."

    async def perform(self, config: RunScriptConfig, ctx: HookContext) -> ActionOutput:
        """Run argv; the output is stdout then stderr."""
        result = await run_allowed(config.argv, ctx, config.timeout_s, config.max_output_bytes)
        if result.timed_out:
            raise _timeout_error(result, config.timeout_s)
        output = result.stdout + (f"\n[stderr]\n{result.stderr}" if result.stderr else "")
        data = {"exit_code": result.exit_code, "truncated": result.truncated, "duration_ms": result.duration_ms}
        return ActionOutput(ok=result.exit_code == 0, output=output, data=data)
