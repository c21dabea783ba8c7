"""The diagnostics runner: every diagnostic of a runbook at once, each time-boxed, all under one deadline.

Every time it takes (deadline, timeouts, durations) is the running event loop's clock, so a test loop on
virtual time (tests/virtual_time.py) controls all of them and durations come out exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.engine.redact import Redactor, redactor_for
from bot.engine.types import DiagnosticPlan, DiagnosticResult, HookOutput, Verdict
from bot.errors import BotError, HookTimeout
from hooks.base import DiagnosticHook, Hook, HookContext, HookKind
from hooks.registry import get_hook_or_raise

log = logging.getLogger(__name__)

# Hook tasks that ignored cancellation: kept referenced until they end so they are not garbage-collected mid-run.
_stragglers: set[asyncio.Task[Any]] = set()


def default_interpret(output: HookOutput) -> tuple[Verdict, str | None]:
    """Without a runbook threshold: healthy, unless the hook found no data (warning)."""
    return (Verdict.WARNING, "no data") if output.no_data else (Verdict.HEALTHY, None)


def _resolve_hook(plan: DiagnosticPlan, hooks: Mapping[str, Hook] | None) -> DiagnosticHook:
    if hooks is None:
        hook = get_hook_or_raise(plan.hook, HookKind.DIAGNOSTIC)
    elif plan.hook not in hooks or hooks[plan.hook].kind is not HookKind.DIAGNOSTIC:
        raise BotError(f"no diagnostic hook named {plan.hook!r}")
    else:
        hook = hooks[plan.hook]
    if not isinstance(hook, DiagnosticHook):
        raise BotError(f"hook {plan.hook!r} does not implement the diagnostic protocol")
    return hook


def _config_for(plan: DiagnosticPlan, hook: DiagnosticHook) -> BaseModel:
    config = plan.config
    if isinstance(config, hook.config_model):
        return config
    raw = config.model_dump() if isinstance(config, BaseModel) else config
    try:
        return hook.config_model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise BotError(f"invalid {plan.hook} config: {problems}") from None


def _forget(task: asyncio.Task[Any]) -> None:
    _stragglers.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("abandoned diagnostic hook failed late", exc_info=task.exception())


async def _call_hook(plan: DiagnosticPlan, ctx: HookContext, hooks: Mapping[str, Hook] | None) -> HookOutput:
    hook = _resolve_hook(plan, hooks)
    output = await hook.run(_config_for(plan, hook), ctx)
    if not isinstance(output, HookOutput):
        raise BotError(f"hook {plan.hook!r} returned {type(output).__name__}, not HookOutput")
    return output


async def _await_bounded(task: asyncio.Task[HookOutput], timeout_s: float) -> HookOutput | None:
    """The task's output, or None after `timeout_s`; the task is cancelled and never waited on beyond that."""
    try:
        done, _ = await asyncio.wait({task}, timeout=max(timeout_s, 0))
    finally:
        if not task.done():
            task.cancel()
            _stragglers.add(task)
            task.add_done_callback(_forget)
    if not done:
        return None
    if task.cancelled():
        raise BotError("the hook cancelled itself")
    return task.result()


def _interpret(plan: DiagnosticPlan, output: HookOutput) -> tuple[Verdict, str | None]:
    try:
        return (plan.interpret or default_interpret)(output)
    except Exception as exc:
        # A broken threshold fails closed: the step is an error, never silently healthy.
        return Verdict.ERROR, f"interpreting the result failed: {type(exc).__name__}: {exc}"


def _result(
    plan: DiagnosticPlan, status: Verdict, started: float, redactor: Redactor, **fields: Any
) -> DiagnosticResult:
    duration_ms = round((asyncio.get_running_loop().time() - started) * 1000, 2)
    for name in ("evidence", "error"):
        if isinstance(fields.get(name), str):
            fields[name] = redactor.text(fields[name])
    fields["data"] = redactor.data(fields.get("data", {}))
    if isinstance(fields.get("value"), str):
        fields["value"] = redactor.text(fields["value"])
    return DiagnosticResult(id=plan.id, name=plan.name, status=status, duration_ms=duration_ms, **fields)


async def run_one(
    plan: DiagnosticPlan, ctx: HookContext, deadline: float, redactor: Redactor, hooks: Mapping[str, Hook] | None
) -> DiagnosticResult:
    """One diagnostic under its own timeout and the shared deadline (loop time); never raises an Exception."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    budget = min(plan.timeout_s, deadline - loop.time())
    task = asyncio.ensure_future(_call_hook(plan, ctx, hooks))
    try:
        output = await _await_bounded(task, budget)
    except HookTimeout as exc:
        return _result(plan, Verdict.TIMEOUT, started, redactor, error=exc.message)
    except Exception as exc:
        message = exc.message if isinstance(exc, BotError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, BotError):
            log.warning("diagnostic hook raised", extra={"diagnostic": plan.id, "hook": plan.hook}, exc_info=exc)
        return _result(plan, Verdict.ERROR, started, redactor, error=message)
    if output is None:
        why = (
            f"timed out after {plan.timeout_s:g}s"
            if budget >= plan.timeout_s
            else "overall diagnostics deadline reached"
        )
        return _result(plan, Verdict.TIMEOUT, started, redactor, error=why)
    status, note = _interpret(plan, output)
    error = note if status in (Verdict.ERROR, Verdict.TIMEOUT) else None
    evidence = output.evidence if error or not note else f"{output.evidence}\n({note})".lstrip()
    return _result(
        plan, status, started, redactor, value=output.value, evidence=evidence, error=error, data=output.data
    )


async def run_diagnostics(
    plans: Sequence[DiagnosticPlan],
    ctx: HookContext,
    deadline_s: float,
    *,
    hooks: Mapping[str, Hook] | None = None,
) -> list[DiagnosticResult]:
    """Run every plan concurrently (results in plan order); a failing or hanging hook yields an error or timeout result.

    `hooks` replaces the global registry (tests, benchmarks). Cancelling the caller cancels every hook.
    """
    redactor = redactor_for(ctx.settings, ctx.secrets)
    deadline = asyncio.get_running_loop().time() + deadline_s
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run_one(plan, ctx, deadline, redactor, hooks)) for plan in plans]
    return [task.result() for task in tasks]
